"""End to end: the tiny config (.test/config/config.yaml on the default one) through the
whole pipeline.

One run in a temporary copy of the workflow; the tests then check what a user relies on:
the tables' columns, that every figure is a real image, that a rerun changes nothing and
that changing one arm reruns only what depends on it.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pandas as pd
import pytest
import yaml
from PIL import Image
from pipeline_helpers import TINY, copy_workflow, digests, merged_config, planned, snakemake

from a2c_repro.seed_run import COLUMNS

ENGINE_COLUMNS = list(COLUMNS)
STAT_COLUMNS = ["n_seeds", "mean", "iqm", "median", "iqm_ci_low", "iqm_ci_high"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    wd = copy_workflow(tmp_path_factory.mktemp("tiny"))
    cfg = merged_config(wd)
    plan = planned(wd)
    run = snakemake(wd, "--cores", "2", "--configfile", *TINY)
    assert run.returncode == 0, run.stderr[-4000:]
    return {
        "wd": wd,
        "cfg": cfg,
        "main": plan.experiments["main"],
        "study": plan.experiments["collapse_study"],
        "plan": plan,
        "results": wd / cfg["results_dir"],
        "figures": wd / cfg["figures_dir"],
    }


def test_tiny_pipeline_records_every_training_job(tiny):
    """Every training job of the tiny config ran and left its record (run identity and
    timing): what the SLURM core-hours estimate and the committed-results check read."""
    records = sorted((tiny["results"] / "runs").rglob("records/*.json"))
    assert len(records) == len(tiny["plan"].jobs)
    assert {str(r.relative_to(tiny["wd"])) for r in records} == {j.record for j in tiny["plan"].jobs}
    for record in records:
        info = yaml.safe_load(record.read_text())
        assert record.name.endswith(f".{info['key']}.json")
        assert info["agent_steps_this_process"] > 0


def test_episodes_csv_has_every_episode_of_every_run(tiny):
    episodes = pd.read_csv(tiny["results"] / "aggregated/episodes.csv")
    assert [c for c in episodes.columns if c != "engine"] == ENGINE_COLUMNS
    exp = tiny["main"]
    n_runs = len(exp.csvs())
    assert episodes.groupby(["env_id", "variant", "seed"]).ngroups == n_runs
    for env, env_cfg in exp.envs.items():
        per_run = episodes[episodes["env_id"] == env].groupby(["variant", "seed"])["episode"]
        assert (per_run.count() == env_cfg["episodes"]).all()
        assert (per_run.min() == 0).all()


def test_summary_and_final_tables(tiny):
    agg = tiny["results"] / "aggregated"
    summary = pd.read_csv(agg / "summary.csv")
    assert list(summary.columns[:3]) == ["env_id", "variant", "episode"]
    assert set(STAT_COLUMNS) <= set(summary.columns)
    assert (summary["n_seeds"] == len(tiny["main"].arms["one_step"].seeds)).all()
    assert (summary["iqm_ci_low"] <= summary["iqm"] + 1e-9).all()
    assert (summary["iqm"] <= summary["iqm_ci_high"] + 1e-9).all()
    steps = pd.read_csv(agg / "summary_env_steps.csv")
    assert {"env_steps", *STAT_COLUMNS} <= set(steps.columns)
    final = pd.read_csv(agg / "final.csv")
    for col in ["env_id", "variant", "seed", "final_return", "peak_mean_return", "peak_episode"]:
        assert col in final.columns
    assert len(final) == len(tiny["main"].csvs())


def expected_figures(tiny):
    stems = [
        "one_step_collapse",
        "final_returns",
        "collapse_diagnostics",
        "ablations",
        "collapse_survival",
    ]
    for env in tiny["main"].envs:
        stems += [f"learning_curves_{env}", f"learning_curves_{env}_env_steps"]
    return stems


def test_every_figure_is_a_valid_nonempty_image(tiny):
    for stem in expected_figures(tiny):
        png = tiny["figures"] / f"{stem}.png"
        with Image.open(png) as im:
            im.verify()
        with Image.open(png) as im:
            assert im.width > 300 and im.height > 200
            # not a blank canvas: some pixels differ from the background
            assert len(im.convert("L").getcolors(maxcolors=1 << 20)) > 10
        svg = ET.parse(tiny["figures"] / f"{stem}.svg").getroot()
        assert svg.tag.endswith("svg")
        assert len(list(svg.iter())) > 50


def test_collapse_study_tables(tiny):
    agg = tiny["results"] / "aggregated"
    collapse = pd.read_csv(agg / "collapse.csv")
    for col in [
        "arm",
        "seed",
        "peak_mean_return",
        "peak_episode",
        "final_mean_return",
        "onset_episode",
        "collapsed",
        "final_majority_action_frac",
        "final_entropy",
    ]:
        assert col in collapse.columns
    arms = tiny["study"].arms
    assert collapse.groupby("arm")["seed"].nunique().to_dict() == {
        name: len(arm.seeds) for name, arm in arms.items()
    }
    # onset only where a run collapsed
    assert collapse.loc[~collapse["collapsed"], "onset_episode"].isna().all()
    # a run that never reached the learned threshold is never_learned, never collapsed
    learned = collapse["peak_mean_return"] >= tiny["study"].analyses["collapse"]["learned_threshold"]
    assert (collapse["never_learned"] == ~learned).all()
    assert not (collapse["collapsed"] & collapse["never_learned"]).any()
    assert set(collapse["outcome"]) <= {"collapsed", "survived", "never_learned"}
    ablations = pd.read_csv(agg / "ablations.csv")
    assert list(ablations["arm"]) == list(arms)
    assert (ablations["collapse_rate_ci_low"] <= ablations["collapse_rate"]).all()
    assert (ablations["collapse_rate"] <= ablations["collapse_rate_ci_high"]).all()
    assert (
        ablations["n_collapsed"] + ablations["n_never_learned"] + ablations["n_survived"]
        == ablations["n_seeds"]
    ).all()
    others = ablations[ablations["arm"] != tiny["study"].analyses["collapse"]["reference_arm"]]
    for col in ("collapse_fisher_p", "final_return_mannwhitney_p"):
        assert others[col].between(0, 1).all()
        assert (others[f"{col}_holm"] >= others[col]).all()
    survival = pd.read_csv(agg / "collapse_survival.csv")
    assert list(survival["arm"]) == list(arms)
    # survival among the runs that learned: an arm where none learned has no curve, and a
    # never-learned run is never counted as surviving
    learned = survival["n_learned"] > 0
    assert survival.loc[learned, "survival"].between(0, 1).all()
    assert survival.loc[~learned, "survival"].isna().all()
    assert (survival["n_collapsed"] + survival["n_censored"] == survival["n_learned"]).all()
    tested = learned & (survival["arm"] != "notebook") & survival["logrank_p"].notna()
    assert survival.loc[tested, "logrank_p"].between(0, 1).all()
    with Image.open(tiny["figures"] / "collapse_rollouts.gif") as gif:
        assert gif.format == "GIF" and gif.n_frames > 1 and gif.width > 2 * 60
    claims = pd.read_csv(tiny["results"] / "claims.csv")
    assert list(claims.columns[:6]) == [
        "claim_id",
        "claim",
        "source",
        "statistic",
        "test",
        "verdict",
    ]
    assert set(claims["verdict"]) <= {"SUPPORTED", "PARTLY", "NOT SUPPORTED"}
    assert len(claims) >= 4
    assert "C5" in set(claims["claim_id"])  # the notebook's own (broadcast) loss


def test_provenance_records_versions_and_config_hash(tiny):
    prov = yaml.safe_load((tiny["results"] / "provenance.json").read_text())
    assert len(prov["config_sha256"]) == 64
    assert prov["packages"]["torch"] and prov["packages"]["snakemake"]
    assert "torch_config" in prov and prov["python"].startswith("3.")


def test_second_run_has_nothing_to_do(tiny):
    dry = snakemake(tiny["wd"], "-n", "--configfile", *TINY)
    assert dry.returncode == 0, dry.stderr[-3000:]
    assert "Nothing to be done" in dry.stdout + dry.stderr


def test_forced_rerun_is_byte_identical(tiny):
    suffixes = (".csv", ".png", ".svg", ".gif")
    before = digests(tiny["results"], suffixes) | digests(tiny["figures"], suffixes)
    assert len(before) > 20
    rerun = snakemake(tiny["wd"], "--cores", "2", "--configfile", *TINY, "--forceall")
    assert rerun.returncode == 0, rerun.stderr[-4000:]
    after = digests(tiny["results"], suffixes) | digests(tiny["figures"], suffixes)
    changed = sorted(k for k in before if before[k] != after.get(k))
    assert not changed, f"rerun changed: {changed}"


def test_report_captions_every_figure(tiny):
    report = snakemake(tiny["wd"], "--configfile", *TINY, "--report", "report.html")
    assert report.returncode == 0, report.stderr[-3000:]
    html = (tiny["wd"] / "report.html").read_text()
    for stem in expected_figures(tiny):
        assert f"{stem}.png" in html, stem
    seeds = len(tiny["main"].arms["one_step"].seeds)
    for caption_start in [
        "Learning curves on",
        "One-step A2C on",
        "Final return of every seed",
        "What happens inside",
        "Ablations of one-step",
        "claims checked",
    ]:
        assert caption_start in html, caption_start
    assert f"({seeds} seeds" in html and "{{" not in html


def test_changing_one_arm_reruns_only_that_arm(tiny):
    """A config edit to one arm of the collapse study retrains that arm's runs only, then
    redraws what reads them; every other run keeps its bytes and its file times."""
    # last in this module: it changes the tiny run's results
    wd = tiny["wd"]
    overlay = yaml.safe_load((wd / TINY[0]).read_text())
    overlay["experiments"]["collapse_study"]["arms"]["entropy_01"]["set"]["entropy_coef"] = 0.2
    (wd / "changed.yaml").write_text(yaml.safe_dump(overlay, sort_keys=False))
    runs = tiny["results"] / "runs"
    others = [p for p in runs.rglob("*.csv") if "/entropy_01/" not in str(p)]
    before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in others}
    arm_runs = digests(runs / "collapse_study/entropy_01", (".csv",))

    plan = snakemake(wd, "-n", "--configfile", "changed.yaml")
    assert plan.returncode == 0, plan.stderr[-3000:]
    jobs = job_counts(plan.stdout)
    trained = {rule for rule in jobs if rule.startswith("train_")}
    assert trained == {"train_collapse_study_entropy_01_CartPole_v1_seeds0_1"}, jobs
    assert {"aggregate_ablations_collapse_study", "claims_collapse_study"} <= set(jobs)
    assert not {"aggregate_main", "learning_curves_main"} & set(jobs)

    run = snakemake(wd, "--cores", "2", "--configfile", "changed.yaml")
    assert run.returncode == 0, run.stderr[-4000:]
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in others} == before
    assert digests(runs / "collapse_study/entropy_01", (".csv",)) != arm_runs


def job_counts(dry_run_stdout: str) -> dict[str, int]:
    """Parse the 'Job stats' table of a dry run into {rule: count}."""
    counts = {}
    lines = dry_run_stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("job ")) + 2
    for line in lines[start:]:
        parts = line.split()
        if len(parts) != 2 or parts[0] == "total":
            break
        counts[parts[0]] = int(parts[1])
    return counts
