"""The SLURM profile and the cluster sweep, checked without a cluster (dry runs).

The live test on a real one-node SLURM is .ci/slurm_test.sh; these tests keep the
profile, the rules' resources and config/sweep.yaml honest between its runs."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys

import pytest
from pipeline_helpers import REPO, TINY, copy_workflow, snakemake

PROFILE = REPO / "workflow/profiles/slurm/config.yaml"
CORE_HOURS = REPO / "workflow/profiles/slurm/core_hours.py"
SWEEP_FILES = ["config/config.yaml", "config/collapse_study.yaml", "config/sweep.yaml"]
SENTINEL = 7  # a default resource value no rule declares


def parse_profile(monkeypatch, **env) -> dict:
    from snakemake.profiles import ProfileConfigFileParser

    for name in ("SBATCH_PARTITION", "SBATCH_ACCOUNT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with PROFILE.open() as stream:
        return dict(ProfileConfigFileParser().parse(stream))


def default_resources(profile: dict) -> dict:
    return dict(item.split("=", 1) for item in profile["default-resources"])


def test_profile_selects_the_slurm_executor_with_default_resources(monkeypatch):
    profile = parse_profile(monkeypatch)
    assert profile["executor"] == "slurm"
    assert int(profile["jobs"]) >= 1
    res = default_resources(profile)
    assert {"runtime", "mem_mb", "cpus_per_task"} <= set(res)
    # cpus_per_task follows the rule's threads, so sbatch asks for what the job uses.
    assert res["cpus_per_task"] == "threads"
    # Without the user's variables the plugin picks the cluster's default partition.
    assert "slurm_partition" not in res and "slurm_account" not in res


def test_profile_takes_partition_and_account_from_the_environment(monkeypatch):
    res = default_resources(
        parse_profile(monkeypatch, SBATCH_PARTITION="compute", SBATCH_ACCOUNT="proj42")
    )
    assert res["slurm_partition"] == "compute"
    assert res["slurm_account"] == "proj42"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return copy_workflow(tmp_path_factory.mktemp("slurm"))


def dry_run_jobs(workdir, *args) -> list[tuple[str, str]]:
    """(rule, resources line) of every job a dry run plans."""
    proc = snakemake(workdir, "-n", *args)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    jobs, rule = [], None
    for line in proc.stdout.splitlines() + proc.stderr.splitlines():
        m = re.match(r"^(?:local)?rule (\S+):$", line)
        if m:
            rule = m.group(1)
        elif line.strip().startswith("resources:"):
            jobs.append((rule, line.strip()))
    assert jobs, "the dry run printed no job"
    return jobs


@pytest.mark.parametrize(
    "configfiles", [list(TINY), SWEEP_FILES], ids=["tiny", "sweep"]
)
def test_every_rule_declares_runtime_and_memory(workdir, configfiles):
    """A rule without its own runtime/mem_mb would get the profile's guess on a cluster:
    with sentinel defaults, no job that SLURM runs may show the sentinel."""
    jobs = dry_run_jobs(
        workdir,
        "--cores",
        "2",
        "--default-resources",
        f"mem_mb={SENTINEL}",
        f"runtime={SENTINEL}",
        "--configfile",
        *configfiles,
    )
    undeclared = sorted(
        {
            rule
            for rule, res in jobs
            if rule != "all"  # the target rule runs no command and is never submitted
            and re.search(rf"\b(mem_mb|runtime)={SENTINEL}\b", res)
        }
    )
    assert not undeclared, f"rules without their own runtime/mem_mb: {undeclared}"


def test_dry_run_through_the_profile_maps_threads_to_cpus(workdir, monkeypatch):
    monkeypatch.setenv("SBATCH_PARTITION", "compute")
    jobs = dry_run_jobs(
        workdir,
        "--profile",
        "workflow/profiles/slurm",
        "--configfile",
        *TINY,
    )
    for rule, res in jobs:
        assert "slurm_partition=compute" in res, (rule, res)
        assert re.search(r"\bcpus_per_task=\d+\b", res), (rule, res)
        assert re.search(r"\bmem_mb=\d+\b", res) and re.search(r"\bruntime=\d+\b", res)


def load_core_hours():
    spec = importlib.util.spec_from_file_location("core_hours", CORE_HOURS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def merged_config(files: list[str]) -> dict:
    """The files merged in order, as Snakemake merges them (core_hours.py's merge)."""
    return load_core_hours().merged_config([str(REPO / name) for name in files])


def seeds_of(rule_names: list[str], prefix: str) -> list[int]:
    seeds = []
    for name in rule_names:
        m = re.fullmatch(re.escape(prefix) + r"_seeds(\d+)_(\d+)", name)
        if m:
            seeds += range(int(m.group(1)), int(m.group(2)) + 1)
    return sorted(seeds)


def test_sweep_trains_100_seeds_of_every_env_variant_and_ablation(workdir):
    """The sweep is the default experiment and the collapse study with 100 seeds each."""
    proc = snakemake(workdir, "-n", "--quiet", "rules", "--configfile", *SWEEP_FILES)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    text = proc.stdout + proc.stderr
    table = text[text.index("Job stats:") :]
    counts = dict(re.findall(r"^(\S+)\s+(\d+)$", table, flags=re.MULTILINE))
    names = [name for name in counts if name.startswith("train_")]
    want = list(range(100))

    sweep = merged_config(SWEEP_FILES)
    exp = sweep["experiment"]
    assert exp["seeds"] == {"first": 0, "count": 100}
    assert len(exp["envs"]) == 3 and set(exp["variants"]) >= {"one_step", "episodic"}
    for variant in exp["variants"]:
        for env_id in exp["envs"]:
            slug = re.sub(r"[^A-Za-z0-9]", "_", env_id)
            assert seeds_of(names, f"train_{variant}_{slug}") == want, (variant, env_id)

    abl = sweep["ablations"]
    assert abl["seeds"] == {"first": 0, "count": 100}
    slug = re.sub(r"[^A-Za-z0-9]", "_", abl["env"])
    for arm, spec in abl["arms"].items():
        own = seeds_of(names, f"train_ablations_{arm}_{slug}")
        if not spec.get("set") and spec["variant"] in exp["variants"]:
            assert own == [], arm  # the same runs as the main experiment's, reused
        else:
            assert own == want, arm

    assert int(counts["total"]) == sum(int(c) for n, c in counts.items() if n != "total")
    # every training job is one group of `seeds_per_job` seeds: nothing else is planned
    groups = sum(-(-100 // env["seeds_per_job"]) for env in exp["envs"].values())
    own_arms = [
        arm for arm, spec in abl["arms"].items()
        if spec.get("set") or spec["variant"] not in exp["variants"]
    ]  # fmt: skip
    assert len(names) == len(exp["variants"]) * groups + len(own_arms) * -(
        -100 // abl["seeds_per_job"]
    )
    assert int(counts["total"]) > len(names)
    # Only seeds and output directories differ from the default experiment.
    default = merged_config(SWEEP_FILES[:2])
    assert sweep["variants"] == default["variants"]
    assert sweep["experiment"]["envs"] == default["experiment"]["envs"]
    assert sweep["ablations"]["arms"] == default["ablations"]["arms"]
    assert sweep["results_dir"] != default["results_dir"]


def test_core_hours_adds_up_the_measured_benchmarks(workdir, tmp_path):
    """core_hours.py (the README's sweep estimate) on the tiny config, with every job
    'measured' at 60 s of CPU in 100 s of wall time: the totals are exact sums."""
    proc = snakemake(workdir, "-n", "--configfile", *TINY)
    assert proc.returncode == 0, proc.stderr[-3000:]
    benches = re.findall(
        r"^\s+benchmark: \.test/results/benchmarks/(\S+)$", proc.stdout, re.MULTILINE
    )
    train = [b for b in benches if b.startswith("train/")]
    assert train and len(benches) > len(train)
    measured = tmp_path / "benchmarks"
    header = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
    for rel in benches:
        path = measured / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(header + "100.0\t0:01:40\t1\t1\t1\t1\t0\t0\t60\t60.0\n")
    out = subprocess.run(
        [
            sys.executable,
            "workflow/profiles/slurm/core_hours.py",
            "--measured",
            str(measured),
            "--configfile",
            *TINY,
        ],
        cwd=workdir,
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    total = re.search(r"^total\s+(\d+)\s+([\d.]+)-([\d.]+)\s+([\d.]+)$", out.stdout, re.MULTILINE)
    assert total, out.stdout
    n = len(benches)  # training and analysis jobs alike
    assert int(total.group(1)) == n
    assert float(total.group(2)) == pytest.approx(n * 60 / 3600, abs=0.05)
    assert float(total.group(3)) == pytest.approx(n * 90 / 3600, abs=0.05)  # +30 s sampling
    assert float(total.group(4)) == pytest.approx(n * 100 / 3600, abs=0.05)
