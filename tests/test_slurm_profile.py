"""The SLURM profile and the cluster sweep, checked without a cluster (dry runs).

The live test on a real one-node SLURM is .ci/slurm_test.sh; these tests keep the
profile, the rules' resources and the sweep experiments honest between its runs."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from pipeline_helpers import REPO, TINY, copy_workflow, merged_config, planned, snakemake

from a2c_repro.experiments import load_and_plan

PROFILE = REPO / "workflow/profiles/slurm/config.yaml"
CORE_HOURS = REPO / "workflow/profiles/slurm/core_hours.py"
SWEEP = ("--config", "run=[sweep_main,sweep_collapse]")
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
    "selection", [("--configfile", *TINY), SWEEP, ()], ids=["tiny", "sweep", "committed"]
)
def test_every_rule_declares_runtime_and_memory(workdir, selection):
    """A rule without its own runtime/mem_mb would get the profile's guess on a cluster:
    with sentinel defaults, no job that SLURM runs may show the sentinel."""
    jobs = dry_run_jobs(
        workdir,
        "--cores",
        "2",
        "--default-resources",
        f"mem_mb={SENTINEL}",
        f"runtime={SENTINEL}",
        "--forceall",
        *selection,
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


def test_sweep_trains_100_seeds_of_every_arm_of_main_and_the_study(workdir):
    """The sweep is the main experiment and the collapse study with 100 seeds of every arm,
    under sweep/: the same arms, envs and job sizes, so the committed benchmarks price it."""
    proc = snakemake(workdir, "-n", "--quiet", "rules", *SWEEP)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    text = proc.stdout + proc.stderr
    counts = dict(re.findall(r"^(\S+)\s+(\d+)$", text[text.index("Job stats:"):], re.MULTILINE))
    trained = {name for name in counts if name.startswith("train_")}

    committed = planned(REPO, ())
    sweep = load_and_plan({**merged_config(REPO, ()), "run": ["sweep_main", "sweep_collapse"]},
                          REPO / "workflow/schemas/config.schema.yaml")  # fmt: skip
    assert trained == {j.name for j in sweep.jobs}
    for name, base in (("sweep_main", "main"), ("sweep_collapse", "collapse_study")):
        exp, ref = sweep.experiments[name], committed.experiments[base]
        assert exp.results_dir.startswith("sweep/") and exp.figures_dir.startswith("sweep/")
        assert exp.envs == ref.envs
        assert {a: (x.variant, x.overrides) for a, x in exp.arms.items()} == {
            a: (x.variant, x.overrides) for a, x in ref.arms.items()
        }
        for arm in exp.arms.values():
            assert arm.seeds == list(range(100)), (name, arm.name)
            for env, by_seed in arm.csvs.items():
                assert sorted(by_seed) == list(range(100)), (name, arm.name, env)


def test_core_hours_adds_up_the_measured_benchmarks(workdir, tmp_path):
    """core_hours.py prices the tiny config's jobs from benchmarks measured at 60 s of CPU
    per job of the committed plan: the total is the exact sum."""
    tiny = planned(REPO)
    measured = tmp_path / "measured"
    header = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
    for job in tiny.jobs:
        path = measured / job.benchmark
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(header + "100.0\t0:01:40\t1\t1\t1\t1\t0\t0\t60\t60.0\n")
    out = subprocess.run(
        [sys.executable, str(CORE_HOURS), "--configfile", *TINY, "--run", "main",
         "collapse_study", "--measured-root", str(measured)],
        cwd=workdir, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    total = re.search(r"^total\s+(\d+)\s+([\d.]+)$", out.stdout, re.MULTILINE)
    assert total, out.stdout
    assert int(total.group(1)) == len(tiny.jobs)
    assert float(total.group(2)) == pytest.approx(len(tiny.jobs) * 60 / 3600, abs=0.005)
