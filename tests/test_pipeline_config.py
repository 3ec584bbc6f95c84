"""The config is checked before any job runs: bad configs are rejected with a message
naming the key and nothing is written; the default config plans the full experiment."""

from __future__ import annotations

import copy

import pytest
import yaml
from pipeline_helpers import REPO, copy_workflow, merged_config, snakemake

TINY = merged_config(REPO)  # the tiny experiment as one config file (tmp_path/bad.yaml)
DEFAULT = yaml.safe_load((REPO / "config/config.yaml").read_text())


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return copy_workflow(tmp_path_factory.mktemp("config"))


def set_path(cfg, path, value):
    node = cfg
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value


def _typo_top_level(cfg):
    cfg["result_dir"] = cfg.pop("results_dir")


def _add_env(env_id):
    def add(cfg):
        cfg["experiment"]["envs"][env_id] = {"episodes": 5, "seeds_per_job": 1}

    return add


def _unknown_hyperparameter(cfg):
    cfg["variants"]["one_step"]["hyperparameters"]["actor_lrr"] = 0.001


BAD = {
    "unknown top-level key": (_typo_top_level, "result_dir"),
    "hyperparameter of the wrong type": (
        lambda c: set_path(c, ["variants", "one_step", "hyperparameters", "actor_lr"], "fast"),
        "variants.one_step.hyperparameters.actor_lr",
    ),
    "discount out of range": (
        lambda c: set_path(c, ["variants", "episodic", "hyperparameters", "gamma"], 1.5),
        "variants.episodic.hyperparameters.gamma",
    ),
    "unknown hyperparameter": (_unknown_hyperparameter, "actor_lrr"),
    "zero episodes": (
        lambda c: set_path(c, ["experiment", "envs", "CartPole-v1", "episodes"], 0),
        "experiment.envs.CartPole-v1.episodes",
    ),
    "an env to keep that is not listed": (
        lambda c: set_path(c, ["experiment", "only_envs"], ["CartPole-v1", "Acrobot-v1"]),
        "experiment.only_envs[1]",
    ),
    "unknown engine variant": (
        lambda c: set_path(c, ["variants", "one_step", "engine"], "two_step"),
        "variants.one_step.engine",
    ),
    "experiment names an undefined variant": (
        lambda c: set_path(c, ["experiment", "variants"], ["one_step", "reinforce"]),
        "experiment.variants[1]",
    ),
    "env that Gymnasium does not know": (_add_env("CartPole-v9"), "CartPole-v9"),
    "confidence level above 1": (
        lambda c: set_path(c, ["analysis", "bootstrap", "confidence"], 1.5),
        "analysis.bootstrap.confidence",
    ),
    "seeds per job of the wrong type": (
        lambda c: set_path(c, ["experiment", "envs", "CartPole-v1", "seeds_per_job"], "all"),
        "experiment.envs.CartPole-v1.seeds_per_job",
    ),
    "study restricted to an undefined arm": (
        lambda c: set_path(c, ["ablations", "only_arms"], ["notebook", "entropy_9"]),
        "ablations.only_arms[1]",
    ),
    "ablation arm with an unknown hyperparameter": (
        lambda c: set_path(c, ["ablations", "arms", "entropy_01", "set"], {"entropy": 0.1}),
        "ablations.arms.entropy_01.set",
    ),
    "non-finite learning rate": (
        lambda c: set_path(c, ["variants", "one_step", "hyperparameters", "actor_lr"], float("nan")),
        "variants.one_step.hyperparameters: actor_lr=nan: expected a finite number",
    ),
    "infinite critic learning rate": (
        lambda c: set_path(c, ["variants", "one_step", "hyperparameters", "critic_lr"], float("inf")),
        "variants.one_step.hyperparameters: critic_lr=inf: expected a finite number",
    ),
    "non-finite entropy coefficient in an arm": (
        lambda c: set_path(c, ["ablations", "arms", "entropy_01", "set"],
                           {"entropy_coef": float("nan")}),
        "ablations.arms.entropy_01.set: entropy_coef=nan: expected a finite number",
    ),
    "hyperparameters left to engine defaults": (
        lambda c: set_path(c, ["variants", "one_step", "hyperparameters"], {}),
        "variants.one_step.hyperparameters: missing",
    ),
    "hyperparameter the engine does not read": (
        lambda c: c["variants"]["one_step"]["hyperparameters"].update({"n_envs": 4}),
        "variants.one_step.hyperparameters: n_envs not read by engine 'one_step'",
    ),
    "env with continuous actions": (
        _add_env("Pendulum-v1"),
        "experiment.envs.Pendulum-v1: action space Box",
    ),
    "huge hidden layer": (
        lambda c: set_path(c, ["variants", "one_step", "hyperparameters", "actor_hidden"],
                           [99999999999999999999]),
        "variants.one_step.hyperparameters: actor_hidden",
    ),
    "notebook reference of unequal lengths": (
        lambda c: c["collapse_figure"]["notebook_eval"]["returns"].pop(),
        "collapse_figure.notebook_eval",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_config_is_rejected_naming_the_key(workdir, tmp_path, case):
    mutate, key = BAD[case]
    cfg = copy.deepcopy(TINY)
    results, figures = tmp_path / "results", tmp_path / "figures"
    cfg["results_dir" if "results_dir" in cfg else "result_dir"] = str(results)
    cfg["figures_dir"] = str(figures)
    mutate(cfg)
    if "result_dir" in cfg:
        cfg["result_dir"] = str(results)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(cfg))
    run = snakemake(workdir, "--cores", "1", "--configfile", str(path))
    out = run.stdout + run.stderr
    assert run.returncode != 0
    assert "Invalid config" in out and key in out, out[-2000:]
    assert "Traceback" not in out
    assert not results.exists() and not figures.exists()


def test_notebook_variants_list_the_engine_defaults():
    """Each hyperparameter is stated once: the config's notebook variants are exactly the
    engine's defaults (`a2c-repro defaults`), so neither can drift from the other."""
    from a2c_repro.config import default_config, keys_of

    for name in ("one_step", "episodic", "n_step"):
        variant = DEFAULT["variants"][name]
        defaults = default_config(variant["engine"]).as_dict()
        assert variant["hyperparameters"] == {k: defaults[k] for k in keys_of(variant["engine"])}


def test_default_config_plans_the_full_experiment(workdir):
    plan = snakemake(workdir, "-n", "--forceall", "--quiet", "rules")
    assert plan.returncode == 0, plan.stderr[-3000:]
    exp = DEFAULT["experiment"]
    jobs = {}
    for line in plan.stdout.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            jobs[parts[0]] = int(parts[1])
    n_train = sum(
        len(exp["variants"]) * -(-exp["seeds"]["count"] // env["seeds_per_job"])
        for env in exp["envs"].values()
    )
    assert sum(v for k, v in jobs.items() if k.startswith("train_")) == n_train
    assert jobs["learning_curves"] == len(exp["envs"])
    for rule in ("aggregate", "one_step_collapse", "final_returns", "provenance", "all"):
        assert jobs[rule] == 1


def test_collapse_study_plans_new_arms_and_reuses_main_runs(workdir):
    study = yaml.safe_load((REPO / "config/collapse_study.yaml").read_text())["ablations"]
    plan = snakemake(
        workdir,
        "-n",
        "--forceall",
        "--quiet",
        "rules",
        "--configfile",
        "config/config.yaml",
        "config/collapse_study.yaml",
    )
    assert plan.returncode == 0, plan.stderr[-3000:]
    jobs = {}
    for line in plan.stdout.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            jobs[parts[0]] = int(parts[1])
    def seed_count(arm):  # an arm's own `seeds` replace the study's
        return study["arms"][arm].get("seeds", study["seeds"])["count"]

    main_seeds = DEFAULT["experiment"]["seeds"]["count"]
    reused = [
        a
        for a, s in study["arms"].items()
        if not s.get("set") and s["variant"] in DEFAULT["experiment"]["variants"]
    ]
    new = [a for a in study["arms"] if a not in reused]
    assert reused == ["notebook", "episodic"]
    # a new arm trains all its seeds under its own name
    for arm in new:
        prefix = f"train_ablations_{arm}_{study['env'].replace('-', '_')}_"
        groups = -(-seed_count(arm) // study["seeds_per_job"])
        assert sum(v for k, v in jobs.items() if k.startswith(prefix)) == groups, arm
    # a reused arm adds only the seeds the main experiment does not have, to the main runs
    for arm, variant in (("notebook", "one_step"), ("episodic", "episodic")):
        extra = -(-(seed_count(arm) - main_seeds) // study["seeds_per_job"])
        cartpole = [k for k in jobs if k.startswith(f"train_{variant}_CartPole_v1_")]
        main_groups = -(
            -main_seeds // DEFAULT["experiment"]["envs"]["CartPole-v1"]["seeds_per_job"]
        )
        assert len(cartpole) == main_groups + extra, cartpole
    assert seed_count("notebook") >= 100
    assert all(seed_count(arm) >= 40 for arm in study["arms"])
    for rule in (
        "aggregate_ablations",
        "collapse_diagnostics",
        "ablations_figure",
        "claims",
        "collapse_survival",
        "collapse_survival_figure",
        "collapse_rollouts",
    ):
        assert jobs[rule] == 1


def test_an_arm_can_set_its_own_episode_budget(workdir):
    """`episodes` in an arm overrides `ablations.episodes` for that arm's jobs only."""
    study = yaml.safe_load((REPO / "config/collapse_study.yaml").read_text())["ablations"]
    plan = snakemake(
        workdir, "-n", "--forceall", "--printshellcmds",
        "--configfile", "config/config.yaml", "config/collapse_study.yaml",
    )  # fmt: skip
    assert plan.returncode == 0, plan.stderr[-3000:]
    budgets = {}
    for line in plan.stdout.splitlines():
        if "a2c-repro train" in line and "--out results/runs/ablations/" in line:
            arm = line.split("--out ")[1].split()[0].rsplit("/", 1)[1]
            budgets.setdefault(arm, set()).add(int(line.split("--episodes ")[1].split()[0]))
    own = {a: s["episodes"] for a, s in study["arms"].items() if "episodes" in s}
    assert own, "the study config should exercise a per-arm budget"
    for arm, trained in budgets.items():
        assert trained == {own.get(arm, study["episodes"])}, (arm, trained)
