// The phasev extension: the grammar and language configuration are declared in package.json;
// this starts the language server, `phasevc lsp`, over stdio for `.phasev` files, and restarts
// it when `phasev.server.path` changes.
'use strict';

const vscode = require('vscode');
const { LanguageClient, TransportKind } = require('vscode-languageclient/node');

let client;

async function start() {
  const command = vscode.workspace.getConfiguration('phasev').get('server.path') || 'phasevc';
  client = new LanguageClient(
    'phasev',
    'phasev',
    { command, args: ['lsp'], transport: TransportKind.stdio },
    { documentSelector: [{ scheme: 'file', language: 'phasev' }] },
  );
  try {
    await client.start();
  } catch (e) {
    client = undefined;
    vscode.window.showErrorMessage(
      `phasev: cannot start \`${command} lsp\` (${e.message}). Install phasevc ` +
        '(`cargo install --path compiler`) or set `phasev.server.path`.',
    );
  }
}

async function stop() {
  const running = client;
  client = undefined;
  if (running) await running.stop();
}

async function activate(context) {
  context.subscriptions.push(
    vscode.workspace.onDidChangeConfiguration(async (event) => {
      if (event.affectsConfiguration('phasev.server.path')) {
        await stop();
        await start();
      }
    }),
  );
  await start();
}

function deactivate() {
  return stop();
}

module.exports = { activate, deactivate };
