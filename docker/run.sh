#!/usr/bin/env bash
# The image's default command: build every experiment of config/config.yaml (`run:`) into
# results/ and figures/. Arguments go to Snakemake (e.g. a target `collapse_study`, or
# `--configfile mine.yaml`). With no volume the image holds the committed results: they are
# checked to be up to date and one line says so. With empty host folders mounted on
# results/ and figures/ everything is retrained and redrawn into them (docs/environment.md).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
plan=$(snakemake "$@" --dry-run --quiet rules 2>&1) || { printf '%s\n' "$plan" >&2; exit 1; }
if grep -q "Nothing to be done" <<<"$plan"; then
    echo "a2c-repro: the results under results/ and figures/ are up to date with this image's code" \
        "(commit ${A2C_REPRO_GIT_COMMIT:-unknown}); mount empty folders on them to regenerate everything"
    exit 0
fi
sed -n '/^Training to run/,/^  in all/p' <<<"$plan"
exec snakemake "$@"
