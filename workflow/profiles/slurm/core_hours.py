"""Core-hours of a planned run (e.g. the cluster sweep) from measured per-job benchmarks.

    python workflow/profiles/slurm/core_hours.py [--configfile FILE...] [--measured DIR...]

By default the sweep: --configfile config/config.yaml config/collapse_study.yaml
config/sweep.yaml (merged in order, as Snakemake does) and --measured results/benchmarks.
A dry run of the config files lists every job with its `benchmark:` file. Each training
job is matched to the measured benchmarks (Snakemake's benchmark TSVs of a run that
happened, by default the default experiment's) of the same experiment, arm and env with
the same seed-group size (the sweep keeps the default config's group sizes); its cost is
their mean `cpu_time` (user+system seconds: what one dedicated core spends, unaffected by
other load on the measuring machine), and for comparison their mean wall time `s`.
Fallbacks, marked in the table: no job of that group size measured -> per-seed cost x
group size; an ablation arm never measured -> the main runs of the arm's variant on the
same env ("proxy"). Analysis jobs (aggregates, figures) count as measured, on the measured
run's fewer seeds. Every job asks SLURM for 1 CPU (threads: 1), so core-hours = the sum
of per-job times / 3600.
Run from the repository root with the project's Python (snakemake importable).
"""

from __future__ import annotations

import argparse
import csv
import re
import statistics
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

SEEDS = re.compile(r"seeds-(\d+)(?:-(\d+))?\.tsv$")


SWEEP = ["config/config.yaml", "config/collapse_study.yaml", "config/sweep.yaml"]


def merged_config(configfiles: list[str]) -> dict:
    """The config files merged in order, nested mappings key by key (as Snakemake does)."""
    import yaml

    def merge(into: dict, new: dict) -> dict:
        for key, value in new.items():
            if isinstance(value, dict) and isinstance(into.get(key), dict):
                merge(into[key], value)
            else:
                into[key] = value
        return into

    cfg: dict = {}
    for path in configfiles:
        merge(cfg, yaml.safe_load(Path(path).read_text()) or {})
    return cfg


def planned_jobs(configfiles: list[str]) -> list[tuple[str, str | None]]:
    """[(rule, benchmark path or None)] of every job a dry run plans, but `all`."""
    proc = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--configfile", *configfiles],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        sys.exit(f"dry run failed:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    jobs, rule, bench = [], None, None
    for line in proc.stdout.splitlines() + [""]:
        m = re.match(r"^(?:local)?rule (\S+):$", line)
        if m or not line.strip():
            if rule is not None:
                jobs.append((rule, bench))
            rule, bench = (m.group(1) if m else None), None
        elif rule and line.strip().startswith("benchmark:"):
            bench = line.split(":", 1)[1].strip()
    return [j for j in jobs if j[0] != "all"]


def group_size(path: str) -> int:
    m = SEEDS.search(path)
    return 1 if m.group(2) is None else int(m.group(2)) - int(m.group(1)) + 1


def read_benchmark(path: Path) -> tuple[float, float, float]:
    """(cpu low, cpu high, wall) seconds of a benchmark TSV, mean over its repeats.

    Snakemake samples cpu_time every BENCHMARK_INTERVAL (30 s), so it can miss up to
    30 s (and at most wall - cpu_time) at the end of a job: hence a low and a high value."""
    rows = list(csv.DictReader(path.open(), delimiter="\t"))
    cpu = statistics.mean(float(r["cpu_time"]) for r in rows)
    wall = statistics.mean(float(r["s"]) for r in rows)
    return cpu, cpu + max(0.0, min(30.0, wall - cpu)), wall


def ablation_proxies(cfg: dict) -> dict[str, str]:
    """{train/ablations/<arm>/<env>: train/main/<variant>/<env>}: the main runs of the
    arm's variant, whose cost stands in for an arm that was never measured."""
    abl = cfg.get("ablations") or {}
    return {
        f"train/ablations/{arm}/{abl['env']}": f"train/main/{spec['variant']}/{abl['env']}"
        for arm, spec in abl.get("arms", {}).items()
    }


def train_cost(measured, key: str, size: int, proxies: dict[str, str]):
    """(cpu low, cpu high, wall) of one training job, and how it was obtained:
    '' = measured jobs of the same key and group size; 'per seed' = the key's per-seed
    cost times the group size; 'proxy: K' = the same, from the main runs K of the variant."""
    for k, how in ((key, ""), (proxies.get(key), f"proxy: {proxies.get(key, '')}")):
        if k is None:
            continue
        if (k, size) in measured:
            return [statistics.mean(x) for x in zip(*measured[(k, size)])], how
        per_seed = [
            [x / s_ for x in vals]
            for (kk, s_), runs in measured.items()
            if kk == k
            for vals in runs
        ]
        if per_seed:
            times = [size * statistics.mean(x) for x in zip(*per_seed)]
            return times, how or "per seed"
    return None, ""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--configfile", nargs="+", default=SWEEP)
    ap.add_argument("--measured", nargs="+", default=[Path("results/benchmarks")], type=Path)
    ap.add_argument("--cores", type=int, default=200, help="cluster cores, for the makespan")
    args = ap.parse_args()

    measured: dict[tuple[str, int], list[tuple[float, float, float]]] = defaultdict(list)
    for root in args.measured:
        for tsv in sorted(root.glob("train/**/seeds-*.tsv")):
            key = str(tsv.parent.relative_to(root))
            measured[(key, group_size(tsv.name))].append(read_benchmark(tsv))
    if not measured:
        sys.exit(f"no measured training benchmarks under {args.measured} (train/...)")

    cfg = merged_config(args.configfile)
    results_dir = cfg["results_dir"]
    jobs = planned_jobs(args.configfile)
    proxies = ablation_proxies(cfg)
    prefix = f"{results_dir.rstrip('/')}/benchmarks/"
    rows: dict[str, list] = defaultdict(lambda: [0, 0.0, 0.0, 0.0, 0])  # n, lo, hi, wall, extrap.
    longest = 0.0
    missing, unbenchmarked = [], []
    for rule, bench in jobs:
        if bench is None:
            unbenchmarked.append(rule)
            continue
        if not bench.startswith(prefix):
            missing.append(rule)
            continue
        rel = bench[len(prefix) :]
        extrapolated = 0
        if rel.startswith("train/"):
            key, size = str(Path(rel).parent), group_size(rel)
            label = key.removeprefix("train/")
            times, how = train_cost(measured, key, size, proxies)
            if times is None:
                missing.append(rule)
                continue
            if how:
                extrapolated = 1
                label += " *" if how.startswith("proxy") else " +"
        else:
            path = next((r / rel for r in args.measured if (r / rel).exists()), None)
            if path is None:
                missing.append(rule)
                continue
            times = list(read_benchmark(path))
            label = "analysis (as measured; see below)"
        if rel.startswith("train/"):
            longest = max(longest, times[1])
        row = rows[label]
        row[0] += 1
        for i in range(3):
            row[1 + i] += times[i]
        row[4] += extrapolated

    total = [sum(r[i] for r in rows.values()) for i in range(5)]
    print(
        f"{' '.join(args.configfile)}: {len(jobs)} jobs (besides `all`);"
        f" measured: {' '.join(map(str, args.measured))}"
    )
    print("core-hours from cpu_time (1 CPU per job; low-high: see read_benchmark), and from")
    print("the measured wall time (includes waiting for CPUs on the measuring machine)")
    head = f"{'jobs of':<42} {'n':>4} {'cpu min/job':>12} {'core-h':>12} {'wall core-h':>11}"
    print(head)
    print("-" * len(head))
    for label in sorted(rows):
        n, lo, hi, wall, _ = rows[label]
        print(
            f"{label:<42} {n:>4} {lo / n / 60:>5.1f}-{hi / n / 60:<6.1f}"
            f" {lo / 3600:>5.1f}-{hi / 3600:<6.1f} {wall / 3600:>11.1f}"
        )
    print("-" * len(head))
    print(
        f"{'total':<42} {total[0]:>4} {'':>12} {total[1] / 3600:>5.1f}-{total[2] / 3600:<6.1f}"
        f" {total[3] / 3600:>11.1f}"
    )
    span = max(total[2] / args.cores, longest) / 3600
    print(
        f"makespan on {args.cores} cores: about {span:.1f} h"
        f" (the longest job alone: {longest / 60:.0f} min of CPU)"
    )
    if any(label.endswith(" *") for label in rows):
        print("* never measured: costed as the main runs of the arm's variant on that env")
    if any(label.startswith("analysis") for label in rows):
        print(
            "analysis: aggregates and figures as measured on the measured run's seeds; they"
            " grow with the number of seeds"
        )
    if any(label.endswith(" +") for label in rows):
        print("+ no job of this group size measured: per-seed cost x group size")
    if unbenchmarked:
        print(
            "not counted (the rule has no benchmark: directive): "
            + ", ".join(sorted(set(unbenchmarked)))
        )
    if missing:
        print(
            f"NOT ESTIMATED ({len(missing)} jobs without a measurement): "
            + ", ".join(sorted(set(missing))[:20])
        )
        sys.exit(1)


if __name__ == "__main__":
    main()
