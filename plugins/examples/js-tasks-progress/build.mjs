// Builds plugin.js into a component of the `phasev:plugin` world:
//   node build.mjs [OUTPUT]   (default: ../../dist/tasks-progress.wasm)
// Every optional engine feature is disabled, so the component imports nothing from WASI.

import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

import { componentize } from "@bytecodealliance/componentize-js";

const here = dirname(fileURLToPath(import.meta.url));
const output = resolve(process.argv[2] ?? join(here, "..", "..", "dist", "tasks-progress.wasm"));

const { component } = await componentize({
  sourcePath: join(here, "plugin.js"),
  witPath: join(here, "..", "..", "wit"),
  worldName: "plugin",
  disableFeatures: ["stdio", "random", "clocks", "http", "fetch-event"],
});
await mkdir(dirname(output), { recursive: true });
await writeFile(output, component);
console.log(`${output}: ${component.length} bytes`);
