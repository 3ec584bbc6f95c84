"""Core-hours of a planned run (by default the cluster sweep) from measured benchmarks.

    python workflow/profiles/slurm/core_hours.py [--run EXPERIMENT...] [--configfile FILE...]
                                                 [--measured-root DIR]

The experiments to price (default: sweep_main sweep_collapse) are planned from
config/config.yaml (and any --configfile merged on top) by a2c_repro.experiments, as the
workflow plans them. Each training job is priced from the Snakemake benchmarks of the
committed experiments (config `run`) under --measured-root (default: the repository): its
own benchmark if it was measured, else the CPU seconds per seed-episode of the same arm
(variant, implementation, env, overrides), else of the same variant, implementation and env.
Every job asks SLURM for 1 CPU (threads: 1), so core-hours = the sum of CPU seconds / 3600.
Analysis jobs (aggregates, figures) are minutes and not counted. Run from the repository
root with the project's Python.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import yaml
from snakemake.utils import update_config

from a2c_repro.experiments import estimate_cpu_seconds, load_and_plan

SCHEMA = "workflow/schemas/config.schema.yaml"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--run", nargs="+", default=["sweep_main", "sweep_collapse"])
    ap.add_argument("--configfile", nargs="+", default=[])
    ap.add_argument("--measured-root", default=".")
    args = ap.parse_args(argv)
    cfg = yaml.safe_load(Path("config/config.yaml").read_text())
    for path in args.configfile:
        update_config(cfg, yaml.safe_load(Path(path).read_text()))
    measured = load_and_plan(dict(cfg), SCHEMA).jobs  # the committed experiments
    target = load_and_plan({**cfg, "run": args.run}, SCHEMA)
    est = estimate_cpu_seconds(target.jobs, args.measured_root, measured)
    print(f"{'experiment':<24} {'jobs':>6} {'core-hours':>11}")
    for name in target.experiments:
        mine = [est[j.name] for j in target.jobs if j.experiment == name]
        print(f"{name:<24} {len(mine):>6} {sum(mine) / 3600:>11.2f}")
    total = list(est.values())
    unknown = sum(math.isnan(v) for v in total)
    print(f"{'total':<24} {len(total):>6} {sum(total) / 3600:>11.2f}")
    if unknown:
        print(f"{unknown} job(s) without any measured benchmark of their kind", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
