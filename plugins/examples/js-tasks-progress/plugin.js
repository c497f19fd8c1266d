// The share of a feature's tasks that are done, as a phasev plugin written in JavaScript.
//
// componentize-js maps the `phasev:plugin` world onto this module: records are objects (the
// WIT field `%type` is `type`), enums are their case names ("pass", "critical"), a
// `fact-value` is `{ tag: "present" | "absent", val }`, an absent `option` is `undefined`.
// Returning from `evaluate` is `ok`; throwing a string is `err` with that string as the reason.

const VERSION = "0.1.0";

export function describe() {
  return {
    name: "tasks-progress",
    version: VERSION,
    summary: "Enough of the feature's tasks are done before it reaches a rung",
    reads: ["docs.tasks.total", "docs.tasks.done"],
    outputs: [
      { name: "done_ratio", type: "float", doc: "Done tasks over all tasks (0 when there are none)" },
    ],
    config: [
      {
        name: "min_done",
        type: "percent",
        required: true,
        doc: "The share of tasks that must be done at the enforced rung",
      },
      {
        name: "enforce_at",
        type: "rung",
        required: false,
        doc: "The target rung at which a low share fails (default cloud_prod)",
      },
    ],
  };
}

export function evaluate(request) {
  const config = JSON.parse(request.config);
  const minDone = config.min_done;
  if (typeof minDone !== "number" || minDone < 0 || minDone > 1) {
    throw `min_done must be a fraction between 0 and 1, not ${JSON.stringify(minDone)}`;
  }
  const enforceAt = config.enforce_at ?? "cloud_prod";
  const total = fact(request, "docs.tasks.total");
  const done = fact(request, "docs.tasks.done");
  const ratio = total > 0 ? done / total : 0;
  const shown = `${done} of ${total} tasks done (${percent(ratio)})`;

  let finding;
  if (total === 0) {
    finding = { status: "fail", severity: "warning", message: "the feature has no tasks" };
  } else if (ratio >= minDone) {
    finding = { status: "pass", severity: "info", message: shown };
  } else if (request.target === enforceAt) {
    finding = {
      status: "fail",
      severity: "critical",
      message: `${shown}, below ${percent(minDone)} for ${enforceAt}`,
    };
  } else {
    finding = {
      status: "pass",
      severity: "info",
      message: `${shown}; ${percent(minDone)} is required only for ${enforceAt}`,
    };
  }
  return {
    findings: [finding],
    outputs: [{ name: "done_ratio", value: JSON.stringify(ratio) }],
  };
}

// The JSON value of a fact the description reads; an absent one makes the check inconclusive.
function fact(request, path) {
  const found = request.facts.find((f) => f.path === path);
  if (found === undefined) {
    throw `the request has no fact ${path}`;
  }
  if (found.value.tag === "absent") {
    throw `fact ${path} is absent: ${found.value.val}`;
  }
  return JSON.parse(found.value.val);
}

function percent(fraction) {
  return `${Math.round(fraction * 1000) / 10}%`;
}
