"""The config is checked before any job runs: a bad config is rejected with a one-line
message naming the key and nothing is written; the default config plans every experiment."""

from __future__ import annotations

import copy
import re

import pytest
import yaml
from pipeline_helpers import REPO, TINY, copy_workflow, planned, snakemake
from test_pipeline_e2e import job_counts

from a2c_repro.config import default_config

OVERLAY = yaml.safe_load((REPO / TINY[0]).read_text())
DEFAULT = yaml.safe_load((REPO / "config/config.yaml").read_text())
PLAN = planned(REPO, ())  # the default config, as the workflow plans it


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return copy_workflow(tmp_path_factory.mktemp("config"))


def set_path(cfg, path, value):
    node = cfg
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value


def at(*path):
    return lambda value: lambda cfg: set_path(cfg, list(path), value)


MAIN_ARM = at("experiments", "main", "arms", "one_step", "set")
STUDY_ARM = at("experiments", "collapse_study", "arms", "entropy_01", "set")
CARTPOLE = ("experiments", "main", "envs", "CartPole-v1")


def _typo_top_level(cfg):
    cfg["result_dir"] = cfg.pop("results_dir")


def _add_env(env_id):
    def add(cfg):
        main = cfg["experiments"]["main"]
        main["envs"][env_id] = {"episodes": 5, "seeds_per_job": 1}
        main["only_envs"] = [*main["only_envs"], env_id]

    return add


def _same_outputs(cfg):
    cfg["experiments"]["main_again"] = {"extends": "main"}
    cfg["run"] = ["main", "main_again"]


def _notebook_side_differs(cfg):
    cfg["run"] = ["fidelity"]
    set_path(cfg, ["experiments", "fidelity", "arms", "one_step_notebook", "set"], {"gamma": 0.9})


# fmt: off
BAD = {
    "unknown top-level key": (_typo_top_level, "result_dir"),
    "experiment to run that is not defined": (at("run")(["main", "reinforce"]), "run[1]"),
    "hyperparameter of the wrong type": (MAIN_ARM({"actor_lr": "fast"}), "experiments.main.arms.one_step.set: actor_lr"),
    "discount out of range": (MAIN_ARM({"gamma": 1.5}), "experiments.main.arms.one_step.set: gamma=1.5"),
    "unknown hyperparameter": (MAIN_ARM({"actor_lrr": 0.001}), "actor_lrr"),
    "hyperparameter the variant does not read": (MAIN_ARM({"n_envs": 4}), "experiments.main.arms.one_step.set: n_envs not read by variant 'one_step'"),
    "non-finite learning rate": (MAIN_ARM({"actor_lr": float("nan")}), "actor_lr=nan: expected a finite number"),
    "infinite critic learning rate": (MAIN_ARM({"critic_lr": float("inf")}), "critic_lr=inf: expected a finite number"),
    "huge hidden layer": (MAIN_ARM({"actor_hidden": [99999999999999999999]}), "experiments.main.arms.one_step.set: actor_hidden"),
    "non-finite entropy coefficient in a study arm": (STUDY_ARM({"entropy_coef": float("nan")}), "experiments.collapse_study.arms.entropy_01.set: entropy_coef=nan"),
    "unknown update rule": (at("experiments", "main", "arms", "one_step", "variant")("two_step"), "experiments.main.arms.one_step.variant"),
    "zero episodes": (at(*CARTPOLE, "episodes")(0), "experiments.main.envs.CartPole-v1.episodes"),
    "seeds per job of the wrong type": (at(*CARTPOLE, "seeds_per_job")("all"), "experiments.main.envs.CartPole-v1.seeds_per_job"),
    "an env to keep that is not listed": (at("experiments", "main", "only_envs")(["CartPole-v1", "Pendulum-v9"]), "experiments.main.only_envs[1]"),
    "env that Gymnasium does not know": (_add_env("CartPole-v9"), "CartPole-v9"),
    "env with continuous actions": (_add_env("Pendulum-v1"), "experiments.main.envs.Pendulum-v1: action space Box"),
    "confidence level above 1": (at("analysis", "bootstrap", "confidence")(1.5), "analysis.bootstrap.confidence"),
    "study restricted to an undefined arm": (at("experiments", "collapse_study", "only_arms")(["notebook", "entropy_9"]), "experiments.collapse_study.only_arms[1]"),
    "unknown analysis": (at("experiments", "main", "analyses", "learning_curve")({}), "experiments.main.analyses"),
    "extends an undefined experiment": (at("experiments", "main", "extends")("mian"), "experiments.main.extends"),
    "notebook reference of unequal lengths": (at("experiments", "main", "analyses", "collapse_figure", "notebook_eval", "returns")([1, 2]), "experiments.main.analyses.collapse_figure.notebook_eval"),
    "claim about an experiment that does not run": (at("experiments", "collapse_study", "analyses", "claims", "improvement", "experiment")("fidelity"), "experiments.collapse_study.analyses.claims.improvement.experiment"),
    "two experiments writing the same files": (_same_outputs, "experiments.main_again.results_dir"),
    "fidelity sides that differ in more than the implementation": (_notebook_side_differs, "experiments.fidelity.analyses.fidelity.comparisons.one_step"),
}
# fmt: on


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_config_is_rejected_naming_the_key(workdir, tmp_path, case):
    mutate, key = BAD[case]
    cfg = copy.deepcopy(OVERLAY)
    results, figures = tmp_path / "results", tmp_path / "figures"
    cfg["results_dir"], cfg["figures_dir"] = str(results), str(figures)
    mutate(cfg)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(cfg))
    run = snakemake(workdir, "--cores", "1", "--configfile", str(path))
    out = run.stdout + run.stderr
    assert run.returncode != 0
    assert "Invalid config" in out and key in out, out[-2000:]
    message = next(line for line in out.splitlines() if "Invalid config" in line)
    assert key in message, message  # one line names the key and what is wrong
    assert "Traceback" not in out
    assert not results.exists() and not figures.exists()


def test_every_arm_override_changes_a_default():
    """The notebook's settings are stated once, in the engine (`a2c-repro defaults`): an
    arm's `set` changes at least one of them (else it is the notebook arm again)."""
    for exp in PLAN.experiments.values():
        for arm in exp.arms.values():
            defaults = default_config(arm.variant).as_dict()
            if arm.overrides:
                assert any(defaults[k] != v for k, v in arm.overrides.items()), (exp.name, arm.name)


def test_a_plain_run_plans_every_experiment_and_each_target_only_its_own(workdir):
    """`snakemake --forceall` plans every training job of main, collapse_study and fidelity;
    `snakemake <experiment>` plans only the jobs whose CSVs that experiment reads."""
    assert list(PLAN.experiments) == ["main", "collapse_study", "fidelity"]
    plan = snakemake(workdir, "-n", "--forceall", "--quiet", "rules")
    assert plan.returncode == 0, plan.stderr[-3000:]
    jobs = job_counts(plan.stdout)
    assert {r for r in jobs if r.startswith("train_")} == {j.name for j in PLAN.jobs}
    for name in PLAN.experiments:
        assert jobs[f"provenance_{name}"] == 1
    assert "Training to run" in plan.stderr and "CPU-min" in plan.stderr
    for name in PLAN.experiments:
        one = snakemake(workdir, name, "-n", "--forceall", "--quiet", "rules")
        assert one.returncode == 0, one.stderr[-3000:]
        trained = {r for r in job_counts(one.stdout) if r.startswith("train_")}
        assert trained == {j.name for j in PLAN.jobs_for([name])}, name
        others = {f"provenance_{n}" for n in PLAN.experiments if n != name}
        assert not others & set(job_counts(one.stdout)), name


def test_every_study_arm_and_both_fidelity_sides_are_planned():
    study, fidelity = PLAN.experiments["collapse_study"], PLAN.experiments["fidelity"]
    assert len(study.arms["notebook"].seeds) >= 100
    assert all(len(arm.seeds) >= 40 for arm in study.arms.values())
    implementations = {arm.implementation for arm in fidelity.arms.values()}
    assert implementations == {"fast", "notebook"}
    notebook_jobs = [j for j in PLAN.jobs if j.implementation == "notebook"]
    assert notebook_jobs and all(j.experiment == "fidelity" for j in notebook_jobs)


def test_run_paths_say_what_they_hold_without_repeats():
    """results/runs/<experiment>/<arm>/<env>/seed<N>.csv: no segment repeats."""
    pattern = re.compile(r"^results/runs/(\w+)/(\w+)/([\w-]+)/(seed\d+\.csv|records/seeds-[\d_-]+\.[0-9a-f]{16}\.json)$")  # fmt: skip
    for job in PLAN.jobs:
        for path in (*job.csvs, job.record):
            m = pattern.match(path)
            assert m, path
            assert (m[1], m[2], m[3]) == (job.experiment, job.arm, job.env), path
            parts = path.split("/")
            assert len(set(parts)) == len(parts), path


def test_an_arm_can_set_its_own_episode_budget():
    study = PLAN.experiments["collapse_study"]
    budgets = {}
    for job in PLAN.jobs:
        if job.experiment == "collapse_study":
            budgets.setdefault(job.arm, set()).add(job.episodes)
    own = {n: s["episodes"] for n, s in DEFAULT["experiments"]["collapse_study"]["arms"].items() if "episodes" in s}  # fmt: skip
    assert own, "the study config should exercise a per-arm budget"
    for arm, episodes in budgets.items():
        assert episodes == {own.get(arm, study.envs["CartPole-v1"]["episodes"])}, arm
