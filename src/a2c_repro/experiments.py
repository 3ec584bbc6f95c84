"""Experiments as data: the planner behind the Snakemake workflow.

The config (config/config.yaml, checked by workflow/schemas/config.schema.yaml) names
experiments. Each is an entry of one shape::

    experiments:
      <name>:
        title: ...                     # one line, for the plan summary and provenance
        extends: <other experiment>    # optional: start from that entry, override below
        seeds: {first, count}
        envs: {<env id>: {episodes, seeds_per_job, mem_mb, runtime}}
        arms: {<arm>: {variant, implementation, label, set, seeds, episodes, envs, ...}}
        analyses: {<analysis>: {...settings}}

An *arm* is an update rule (``variant``: one_step, episodic, n_step) with hyperparameter
overrides (``set``; every other hyperparameter is the notebook's, from
``a2c_repro.config.default_config``) trained by an ``implementation`` (``fast``, this engine,
or ``notebook``, the notebooks' own PyTorch code). The planner turns the experiments listed in
``run`` into training jobs and the per-seed CSVs each analysis reads::

    <results_dir>/runs/<experiment>/<arm>/<env>/seed<N>.csv
    <results_dir>/runs/<experiment>/<arm>/<env>/records/seeds-<spec>.<run key>.json

A seed whose run is identical to one already planned (same variant, implementation, env,
episodes, resolved hyperparameters and seed; the run key says so) is not trained twice: the
later arm reads the earlier CSV. Planning imports no numerical code (no numba, no torch).
"""

from __future__ import annotations

import copy
import csv
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import ConfigError, apply_overrides, default_config, keys_of
from .layout import seeds_spec
from .run_key import run_identity, run_key

__all__ = [
    "ANALYSES",
    "Arm",
    "Experiment",
    "Plan",
    "PlanError",
    "TrainingJob",
    "format_value",
    "plan",
    "seed_groups",
]

IMPLEMENTATIONS = ("fast", "notebook")
# The analyses an experiment may ask for, and the envs/arms each reads from its settings.
ANALYSES = (
    "learning_curves",
    "final_returns",
    "collapse_figure",
    "collapse",
    "claims",
    "rollouts",
    "collapse_sensitivity",
    "fidelity",
    "scores",
)
# Settings an arm may give for itself instead of taking the experiment's (per env).
ARM_JOB_KEYS = ("episodes", "seeds_per_job", "mem_mb", "runtime")


class PlanError(ValueError):
    """A config the planner cannot plan; ``key`` is the config key at fault."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"Invalid config: {key}: {message}")
        self.key = key


def format_value(value: Any) -> str:
    """A hyperparameter as the engine's ``--set key=value`` spells it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return repr(value) if isinstance(value, float) else str(value)


def seed_groups(seeds: Iterable[int], per_job: int) -> list[list[int]]:
    """Runs of consecutive seeds, at most ``per_job`` each, in order."""
    groups: list[list[int]] = []
    for seed in seeds:
        if groups and seed == groups[-1][-1] + 1 and len(groups[-1]) < per_job:
            groups[-1].append(seed)
        else:
            groups.append([seed])
    return groups


@dataclass(frozen=True)
class TrainingJob:
    """One engine process: one arm's seed group on one env."""

    name: str
    experiment: str
    arm: str
    variant: str
    implementation: str
    env: str
    seeds: tuple[int, ...]
    episodes: int
    set_args: str
    csvs: tuple[str, ...]
    record: str
    stale_records: str
    log: str
    benchmark: str
    mem_mb: int
    runtime: int
    key: str

    @property
    def spec(self) -> str:
        return seeds_spec(list(self.seeds))


@dataclass
class Arm:
    """An arm of an experiment, resolved: its full hyperparameters and, per env, the CSV of
    every seed (its own or an identical run planned earlier)."""

    name: str
    label: str
    variant: str
    implementation: str
    overrides: dict[str, Any]
    hyperparameters: dict[str, Any]
    seeds: list[int]
    csvs: dict[str, dict[int, str]] = field(default_factory=dict)  # env -> seed -> CSV

    @property
    def envs(self) -> list[str]:
        return list(self.csvs)

    def all_csvs(self) -> list[str]:
        return [csv for by_seed in self.csvs.values() for csv in by_seed.values()]


@dataclass
class Experiment:
    name: str
    title: str
    results_dir: str
    figures_dir: str
    provenance: str
    envs: dict[str, dict[str, Any]]
    arms: dict[str, Arm]
    analyses: dict[str, dict[str, Any]]
    settings: dict[str, Any] = field(default_factory=dict)  # the resolved config entry

    @property
    def runs_dir(self) -> str:
        return f"{self.results_dir}/runs/{self.name}"

    def csvs(self) -> list[str]:
        """Every per-seed CSV the experiment's analyses read."""
        return [csv for arm in self.arms.values() for csv in arm.all_csvs()]

    def path_labels(self) -> dict[str, list[str]]:
        """{CSV: [arm, env]} for the analysis scripts."""
        return {
            csv: [arm.name, env]
            for arm in self.arms.values()
            for env, by_seed in arm.csvs.items()
            for csv in by_seed.values()
        }

    def labels(self) -> dict[str, str]:
        return {name: arm.label for name, arm in self.arms.items()}

    def facts(self) -> dict[str, Any]:
        """What the report's captions state about the experiment (its rules pass this as
        ``params.facts``): names, envs, seed counts, episodes, analyses, hyperparameters."""
        return {
            "name": self.name,
            "title": self.title,
            "envs": list(self.envs),
            "seeds": len(next(iter(self.arms.values())).seeds) if self.arms else 0,
            "arm_seeds": {n: len(a.seeds) for n, a in self.arms.items()},
            "n_arms": len(self.arms),
            "episodes": {env: s["episodes"] for env, s in self.envs.items()},
            "analyses": self.analyses,
            "hyperparameters": {n: a.hyperparameters for n, a in self.arms.items()},
            "results_dir": self.results_dir,
        }


@dataclass
class Plan:
    experiments: dict[str, Experiment]
    jobs: list[TrainingJob]
    records_of_csv: dict[str, str]

    def records(self, csvs: Iterable[str]) -> list[str]:
        """The records of the jobs that write ``csvs``: rules that read CSVs take them as
        inputs too, so a job whose run key changed (its record is missing) reruns."""
        return sorted({self.records_of_csv[c] for c in csvs})

    def reads(self, name: str) -> list[str]:
        """Every per-seed CSV experiment ``name`` reads: its arms' and those of the other
        experiments its claims are about."""
        exp = self.experiments[name]
        claims = exp.analyses.get("claims", {})
        extra = [c for claim in ("improvement", "improvement_notebook_loss")
                 for c in claim_csvs(self, claims, claim)]  # fmt: skip
        return exp.csvs() + [c for c in extra if c not in set(exp.csvs())]

    def jobs_for(self, experiments: Iterable[str]) -> list[TrainingJob]:
        """The training jobs whose CSVs the named experiments read (their own and any
        identical runs they share with, or read from, another experiment)."""
        wanted = {c for name in experiments for c in self.reads(name)}
        return [j for j in self.jobs if wanted.intersection(j.csvs)]


def _merge(base: Any, over: Any) -> Any:
    """Deep merge of mappings (``over`` wins); lists and scalars are replaced."""
    if isinstance(base, Mapping) and isinstance(over, Mapping):
        out = dict(base)
        for key, value in over.items():
            out[key] = _merge(base[key], value) if key in base else copy.deepcopy(value)
        return out
    return copy.deepcopy(over)


def resolve_experiment(config: Mapping[str, Any], name: str, _seen: tuple = ()) -> dict:
    """The experiment entry ``name`` with its ``extends`` chain applied and its
    ``only_envs`` / ``only_arms`` filters applied (an overlay can drop, not only add)."""
    experiments = config.get("experiments", {})
    if name not in experiments:
        raise PlanError("run", f"{name!r} is not one of experiments ({', '.join(experiments)})")
    entry = experiments[name]
    parent = entry.get("extends")
    if parent is not None:
        if parent in _seen or parent == name:
            raise PlanError(f"experiments.{name}.extends", f"{parent!r} extends itself")
        if parent not in experiments:
            raise PlanError(
                f"experiments.{name}.extends", f"{parent!r} is not one of experiments"
            )
        base = resolve_experiment(config, parent, (*_seen, name))
        for key in ("title", "results_dir", "figures_dir", "provenance"):
            base.pop(key, None)
        entry = _merge(base, {k: v for k, v in entry.items() if k != "extends"})
    entry = copy.deepcopy(dict(entry))
    for key, section in (("only_envs", "envs"), ("only_arms", "arms")):
        only = entry.pop(key, None)
        if only is None:
            continue
        for i, item in enumerate(only):
            if item not in entry.get(section, {}):
                raise PlanError(
                    f"experiments.{name}.{key}[{i}]", f"{item!r} is not one of its {section}"
                )
        entry[section] = {k: v for k, v in entry[section].items() if k in only}
        if section == "arms":
            _drop_arms_from_analyses(entry.get("analyses", {}), set(entry["arms"]))
    return entry


def _drop_arms_from_analyses(analyses: dict, kept: set[str]) -> None:
    """What `only_arms` drops, the analyses' arm lists and maps drop too."""
    collapse = analyses.get("collapse", {})
    for section in ("reference_of", "counterpart"):
        if section in collapse:
            collapse[section] = {
                a: b for a, b in collapse[section].items() if a in kept and b in kept
            }
    sens = analyses.get("collapse_sensitivity")
    if sens is not None:
        sens["arms"] = [a for a in sens["arms"] if a in kept]
        if not sens["arms"]:
            del analyses["collapse_sensitivity"]


def _seed_list(seeds: Mapping[str, int]) -> list[int]:
    return list(range(seeds["first"], seeds["first"] + seeds["count"]))


def _resolve_hyperparameters(key: str, variant: str, implementation: str, overrides: dict):
    """Full hyperparameters, validated by the engine itself (one source of ranges and keys)."""
    try:
        if implementation == "notebook":
            from .notebook_engine import notebook_config  # light: torch loads on first run

            cfg = notebook_config(variant, overrides)
        else:
            cfg = apply_overrides(default_config(variant), overrides)
    except ConfigError as exc:
        raise PlanError(key, str(exc).removeprefix("--set ")) from None
    return cfg


def plan(config: Mapping[str, Any], check_env=None) -> Plan:
    """Plan every experiment listed in ``config["run"]``.

    ``check_env(env_id)`` raises ConfigError for an env the engine cannot train (the
    workflow passes ``a2c_repro.envs.env_dims``; tests may pass None to skip it)."""
    run = config.get("run", [])
    experiments: dict[str, Experiment] = {}
    jobs: list[TrainingJob] = []
    records_of_csv: dict[str, str] = {}
    trained: dict[tuple, str] = {}  # seed identity -> CSV that holds it
    checked_envs: set[str] = set()
    owner_of_output: dict[str, str] = {}
    for i, name in enumerate(run):
        if name in experiments:
            raise PlanError(f"run[{i}]", f"{name!r} is listed twice")
        entry = resolve_experiment(config, name)
        key = f"experiments.{name}"
        results_dir = str(entry.get("results_dir", config["results_dir"])).rstrip("/")
        figures_dir = str(entry.get("figures_dir", config["figures_dir"])).rstrip("/")
        exp = Experiment(
            name=name,
            title=entry.get("title", name),
            results_dir=results_dir,
            figures_dir=figures_dir,
            provenance=entry.get("provenance", f"provenance_{name}.json"),
            envs=entry.get("envs", {}),
            arms={},
            analyses=entry.get("analyses", {}),
            settings=entry,
        )
        for env_id in exp.envs:
            if check_env is not None and env_id not in checked_envs:
                try:
                    check_env(env_id)
                except ConfigError as exc:
                    raise PlanError(
                        f"{key}.envs.{env_id}", str(exc).removeprefix(f"--env {env_id}: ")
                    ) from None
                checked_envs.add(env_id)
        for analysis in exp.analyses:
            if analysis not in ANALYSES:
                raise PlanError(
                    f"{key}.analyses.{analysis}",
                    f"unknown analysis; expected one of {', '.join(ANALYSES)}",
                )
        for arm_name, spec in entry.get("arms", {}).items():
            exp.arms[arm_name] = _plan_arm(
                exp, entry, arm_name, spec, f"{key}.arms.{arm_name}", trained, jobs,
                records_of_csv,
            )  # fmt: skip
        _check_analyses(exp, key, config)
        for path in analysis_outputs(exp):
            if path in owner_of_output:
                raise PlanError(
                    f"{key}.results_dir",
                    f"its {path} would overwrite experiment {owner_of_output[path]!r}'s; "
                    "give it its own results_dir and figures_dir",
                )
            owner_of_output[path] = name
        experiments[name] = exp
    return Plan(experiments, jobs, records_of_csv)


def _plan_arm(exp, entry, arm_name, spec, key, trained, jobs, records_of_csv) -> Arm:
    variant = spec["variant"]
    implementation = spec.get("implementation", "fast")
    overrides = dict(spec.get("set", {}))
    unread = sorted(set(overrides) - set(keys_of(variant)))
    if unread:  # it would change the run key and nothing else
        raise PlanError(
            f"{key}.set",
            f"{', '.join(unread)} not read by variant {variant!r}; it reads "
            f"{', '.join(keys_of(variant))}",
        )
    cfg = _resolve_hyperparameters(f"{key}.set", variant, implementation, overrides)
    seeds = _seed_list(spec.get("seeds", entry["seeds"]))
    arm = Arm(
        name=arm_name,
        label=spec.get("label", arm_name),
        variant=variant,
        implementation=implementation,
        overrides=overrides,
        hyperparameters=cfg.as_dict(),
        seeds=seeds,
    )
    env_ids = spec.get("envs", list(exp.envs))
    for j, env_id in enumerate(env_ids):
        if env_id not in exp.envs:
            raise PlanError(f"{key}.envs[{j}]", f"{env_id!r} is not one of the experiment's envs")
        job_cfg = {**exp.envs[env_id], **{k: spec[k] for k in ARM_JOB_KEYS if k in spec}}
        episodes = job_cfg["episodes"]
        run_dir = f"{exp.runs_dir}/{arm_name}/{env_id}"
        by_seed: dict[int, str] = {}
        todo: list[int] = []
        for seed in seeds:
            ident = (variant, implementation, env_id, episodes, json.dumps(cfg.as_dict(), sort_keys=True), seed)  # fmt: skip
            if ident in trained:
                by_seed[seed] = trained[ident]
            else:
                by_seed[seed] = trained[ident] = f"{run_dir}/seed{seed}.csv"
                todo.append(seed)
        for group in seed_groups(todo, job_cfg["seeds_per_job"]):
            identity = run_identity(variant, env_id, group, episodes, cfg, implementation)
            run_key_ = run_key(identity)
            spec_ = seeds_spec(group)
            job = TrainingJob(
                name=f"train_{exp.name}_{arm_name}_{env_id.replace('-', '_')}_seeds{group[0]}_{group[-1]}",
                experiment=exp.name,
                arm=arm_name,
                variant=variant,
                implementation=implementation,
                env=env_id,
                seeds=tuple(group),
                episodes=episodes,
                set_args=" ".join(
                    f"--set {k}={format_value(v)}" for k, v in sorted(overrides.items())
                ),
                csvs=tuple(by_seed[s] for s in group),
                record=f"{run_dir}/records/seeds-{spec_}.{run_key_}.json",
                stale_records=f"{run_dir}/records/seeds-{spec_}.*.json",
                log=f"{exp.results_dir}/logs/train/{exp.name}/{arm_name}/{env_id}/seeds-{spec_}.log",
                benchmark=f"{exp.results_dir}/benchmarks/train/{exp.name}/{arm_name}/{env_id}/seeds-{spec_}.tsv",
                mem_mb=int(job_cfg.get("mem_mb", 1500)),
                runtime=int(job_cfg.get("runtime", 60)),
                key=run_key_,
            )  # fmt: skip
            jobs.append(job)
            for csv_path in job.csvs:
                records_of_csv[csv_path] = job.record
        arm.csvs[env_id] = by_seed
    return arm


def _check_analyses(exp: Experiment, key: str, config: Mapping[str, Any]) -> None:
    """Cross-key checks of an experiment's analyses that a schema cannot express."""
    a = exp.analyses
    fig = a.get("collapse_figure")
    if fig is not None:
        _need_arm_env(exp, f"{key}.analyses.collapse_figure", fig["arm"], fig["env"])
        nb = fig["notebook_eval"]
        if len(nb["episodes"]) != len(nb["returns"]):
            raise PlanError(
                f"{key}.analyses.collapse_figure.notebook_eval",
                f"episodes has {len(nb['episodes'])} entries but returns has {len(nb['returns'])}",
            )
    for name in ("collapse", "claims", "rollouts"):
        if name in a and len(exp.envs) != 1:
            raise PlanError(f"{key}.analyses.{name}", "needs an experiment with exactly one env")
    if {"claims", "rollouts", "collapse_sensitivity"} & set(a) and "collapse" not in a:
        raise PlanError(
            f"{key}.analyses", "claims, rollouts and collapse_sensitivity need the collapse analysis"
        )
    for i, arm in enumerate(a.get("collapse_sensitivity", {}).get("arms", [])):
        if arm not in exp.arms:
            raise PlanError(
                f"{key}.analyses.collapse_sensitivity.arms[{i}]",
                f"{arm!r} is not one of the experiment's arms",
            )
    collapse = a.get("collapse", {})
    for section in ("reference_of", "counterpart"):
        for arm, other in collapse.get(section, {}).items():
            for name in (arm, other):
                if name not in exp.arms:
                    raise PlanError(
                        f"{key}.analyses.collapse.{section}.{arm}",
                        f"{name!r} is not one of the experiment's arms",
                    )
    if "collapse" in a and a["collapse"]["reference_arm"] not in exp.arms:
        raise PlanError(
            f"{key}.analyses.collapse.reference_arm",
            f"{a['collapse']['reference_arm']!r} is not one of the experiment's arms",
        )
    for claim in ("improvement", "improvement_notebook_loss"):
        imp = a.get("claims", {}).get(claim)
        if imp is None:
            continue
        ckey = f"{key}.analyses.claims.{claim}"
        if imp["experiment"] not in config.get("run", []):
            raise PlanError(
                f"{ckey}.experiment",
                f"{imp['experiment']!r} is not an experiment that runs (run: {config.get('run')})",
            )
        other = resolve_experiment(config, imp["experiment"])
        if imp["arm"] not in other.get("arms", {}):
            raise PlanError(f"{ckey}.arm", f"{imp['arm']!r} is not an arm of {imp['experiment']!r}")
        if imp["env"] not in other.get("arms", {})[imp["arm"]].get("envs", other.get("envs", {})):
            raise PlanError(f"{ckey}.env", f"arm {imp['arm']!r} does not run {imp['env']!r}")
    fid = a.get("fidelity")
    if fid is not None:
        for name, comp in fid["comparisons"].items():
            ckey = f"{key}.analyses.fidelity.comparisons.{name}"
            sides = [exp.arms.get(comp[s]) for s in IMPLEMENTATIONS]
            for side, arm in zip(IMPLEMENTATIONS, sides):
                if arm is None:
                    raise PlanError(f"{ckey}.{side}", f"{comp[side]!r} is not one of the arms")
                if arm.implementation != side:
                    raise PlanError(
                        f"{ckey}.{side}",
                        f"arm {arm.name!r} has implementation {arm.implementation!r}",
                    )
                if comp["env"] not in arm.csvs:
                    raise PlanError(f"{ckey}.env", f"arm {arm.name!r} does not run {comp['env']}")
            fast, notebook = sides
            if (fast.variant, fast.hyperparameters) != (notebook.variant, notebook.hyperparameters):
                raise PlanError(
                    ckey, f"arms {fast.name!r} and {notebook.name!r} differ in more than implementation"
                )  # fmt: skip
            if "eval_episode" in comp:
                interval = fast.hyperparameters["eval_interval"]
                if interval == 0 or comp["eval_episode"] % interval:
                    raise PlanError(
                        f"{ckey}.eval_episode",
                        f"no evaluation at episode {comp['eval_episode']}: the runs evaluate "
                        f"every {interval} episodes (eval_interval; 0 = never)",
                    )
            needs = {"collapse_rate": "collapse", "never_learned_rate": "collapse",
                     "eval_return": "eval_episode"}  # fmt: skip
            for measure, section in needs.items():
                if measure in comp["margins"] and section not in comp:
                    raise PlanError(f"{ckey}.margins.{measure}", f"needs {ckey}.{section}")


def _need_arm_env(exp: Experiment, key: str, arm: str, env: str) -> None:
    if arm not in exp.arms:
        raise PlanError(f"{key}.arm", f"{arm!r} is not one of the experiment's arms")
    if env not in exp.arms[arm].csvs:
        raise PlanError(f"{key}.env", f"arm {arm!r} does not run {env!r}")


# --- estimates ------------------------------------------------------------------------------


def _benchmark_cpu_seconds(path: Path) -> float | None:
    """CPU seconds of a Snakemake benchmark file (its ``cpu_time`` column), or None."""
    try:
        with path.open() as f:
            rows = list(csv.DictReader(f, delimiter="\t"))
        return float(rows[-1]["cpu_time"]) if rows else None
    except (OSError, KeyError, ValueError):
        return None


def _measured_cpu_seconds(root: Path, job: TrainingJob) -> float | None:
    """The job's CPU seconds as measured: its Snakemake benchmark, else its run record's
    ``cpu_seconds`` (the engine's own measure; runs trained outside Snakemake have only it)."""
    cpu = _benchmark_cpu_seconds(root / job.benchmark)
    if cpu is not None:
        return cpu
    try:
        return float(json.loads((root / job.record).read_text())["cpu_seconds"])
    except (OSError, KeyError, ValueError, TypeError):
        return None


def _arm_key(job: TrainingJob) -> tuple:
    return (job.variant, job.implementation, job.env, job.set_args)


def estimate_cpu_seconds(
    jobs: Iterable[TrainingJob],
    root: Path | str = ".",
    measured: Iterable[TrainingJob] | None = None,
) -> dict[str, float]:
    """Estimated CPU seconds of each job from what was measured under ``root`` (Snakemake's
    benchmark `cpu_time`, else the run record's `cpu_seconds`): the job's own where it exists; else, from the ``measured`` jobs (by
    default ``jobs`` themselves) that have one, the mean CPU seconds per seed-episode of the
    same arm (variant, implementation, env, overrides), else of the same variant,
    implementation and env, times the job's seed-episodes; NaN where nothing was measured."""
    root = Path(root)
    jobs = list(jobs)
    measured = jobs if measured is None else list(measured)
    rates: dict[tuple, list[float]] = {}
    for m in measured:
        cpu = _measured_cpu_seconds(root, m)
        if cpu is not None:
            per = cpu / (len(m.seeds) * m.episodes)
            rates.setdefault(("arm", *_arm_key(m)), []).append(per)
            rates.setdefault(("variant", *_arm_key(m)[:3]), []).append(per)
    out = {}
    for j in jobs:
        own = _measured_cpu_seconds(root, j)
        if own is not None:
            out[j.name] = own
            continue
        per = rates.get(("arm", *_arm_key(j))) or rates.get(("variant", *_arm_key(j)[:3]))
        out[j.name] = sum(per) / len(per) * len(j.seeds) * j.episodes if per else math.nan
    return out


def summary(
    plan_: Plan,
    to_run: Iterable[str],
    cores: int,
    root: Path | str = ".",
    measured: Iterable[TrainingJob] | None = None,
) -> list[str]:
    """Lines that say, per experiment, how many training jobs will run and their estimated
    CPU-minutes (from the committed benchmarks), and the wall time that is on ``cores``."""
    to_run = set(to_run)
    jobs = [j for j in plan_.jobs if j.name in to_run]
    est = estimate_cpu_seconds(jobs, root, plan_.jobs if measured is None else measured)
    lines = []
    for name in plan_.experiments:
        mine = [j for j in jobs if j.experiment == name]
        unknown = sum(math.isnan(est[j.name]) for j in mine)
        note = f" ({unknown} without a benchmark, not counted)" if unknown else ""
        cpu_known = sum(est[j.name] for j in mine if not math.isnan(est[j.name]))
        lines.append(
            f"  {name}: {len(mine)} training job(s), ~{cpu_known / 60:.0f} CPU-min{note}"
        )
    known = [est[j.name] for j in jobs if not math.isnan(est[j.name])]
    if known:
        # Jobs are single-threaded: the wall time is at least the longest job.
        wall = max(sum(known) / max(cores, 1), max(known))
        lines.append(
            f"  in all: {len(jobs)} training job(s), ~{sum(known) / 60:.0f} CPU-min, "
            f"~{wall / 60:.0f} min on {cores} core(s)"
        )
    return lines


# --- schema ---------------------------------------------------------------------------------


def _defaults_validator():
    """Draft 2020-12 validator that also fills in the schema's defaults (as Snakemake's
    ``validate`` does), so every planned entry carries every key its rules read."""
    import jsonschema

    base = jsonschema.Draft202012Validator

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for name, sub in properties.items():
                if "default" in sub and name not in instance:
                    instance[name] = copy.deepcopy(sub["default"])
        yield from base.VALIDATORS["properties"](validator, properties, instance, schema)

    return jsonschema.validators.extend(base, {"properties": set_defaults})


def check_schema(instance: Any, schema: dict, prefix: str = "", ref: str | None = None) -> None:
    """Check ``instance`` against ``schema`` (or its ``$defs`` entry ``ref``), filling in
    defaults; the first error becomes a one-line PlanError naming the key."""
    import jsonschema

    target = {"$ref": f"#/$defs/{ref}", "$defs": schema["$defs"]} if ref else schema
    error = jsonschema.exceptions.best_match(_defaults_validator()(target).iter_errors(instance))
    if error is not None:
        key = ".".join([p for p in [prefix] if p] + [str(p) for p in error.absolute_path])
        raise PlanError(key or "(top level)", error.message)


def load_and_plan(config: dict, schema_path: Path | str, check_env=None) -> Plan:
    """Schema-check ``config`` (filling defaults) and every experiment it runs, then plan."""
    import yaml

    schema = yaml.safe_load(Path(schema_path).read_text())
    check_schema(config, schema)
    resolved = {}
    for i, name in enumerate(config["run"]):
        if name not in config["experiments"]:
            raise PlanError(
                f"run[{i}]", f"{name!r} is not one of experiments ({', '.join(config['experiments'])})"
            )
        entry = resolve_experiment(config, name)
        check_schema(entry, schema, f"experiments.{name}", ref="experiment")
        resolved[name] = entry
    return plan({**config, "experiments": {**config["experiments"], **resolved}}, check_env)


# --- outputs --------------------------------------------------------------------------------

# The files each analysis makes ({results}, {figures}: the experiment's directories; {env}:
# each of its envs). The rules in workflow/rules/ declare how; this is what a target asks for.
_AGGREGATES = [f"{{results}}/aggregated/{n}.csv" for n in ("episodes", "summary", "summary_env_steps", "final")]  # fmt: skip
ANALYSIS_OUTPUTS = {
    "learning_curves": _AGGREGATES + [
        f"{{figures}}/learning_curves_{{env}}{suffix}.{ext}"
        for suffix in ("", "_env_steps") for ext in ("png", "svg")
    ],
    "final_returns": _AGGREGATES + ["{figures}/final_returns.png", "{figures}/final_returns.svg"],
    "collapse_figure": _AGGREGATES + ["{figures}/one_step_collapse.png", "{figures}/one_step_collapse.svg"],
    "collapse": [
        "{results}/aggregated/collapse.csv", "{results}/aggregated/ablations.csv",
        "{results}/aggregated/collapse_episodes.csv", "{results}/aggregated/collapse_survival.csv",
        "{figures}/ablations.png", "{figures}/ablations.svg",
        "{figures}/collapse_diagnostics.png", "{figures}/collapse_diagnostics.svg",
        "{figures}/collapse_survival.png", "{figures}/collapse_survival.svg",
    ],
    "claims": ["{results}/claims.csv"],
    "rollouts": ["{figures}/collapse_rollouts.gif", "{figures}/collapse_rollouts.png"],
    "collapse_sensitivity": [
        "{results}/aggregated/collapse_sensitivity.csv",
        "{figures}/collapse_sensitivity.png", "{figures}/collapse_sensitivity.svg",
    ],
    "scores": ["{results}/scores/{experiment}.npz", "{results}/scores/{experiment}.csv"],
    "fidelity": [
        "{results}/fidelity.csv", "{results}/aggregated/fidelity_runs.csv",
        "{figures}/fidelity.png", "{figures}/fidelity.svg",
    ],
}  # fmt: skip


def analysis_outputs(exp: Experiment) -> list[str]:
    """Every file the experiment's analyses make, in a stable order, without repeats."""
    out: list[str] = []
    for analysis in exp.analyses:
        for template in ANALYSIS_OUTPUTS[analysis]:
            envs = exp.envs if "{env}" in template else [None]
            for env in envs:
                path = template.format(
                    results=exp.results_dir, figures=exp.figures_dir, env=env, experiment=exp.name
                )
                if path not in out:
                    out.append(path)
    return out


def targets(plan_: Plan, name: str) -> list[str]:
    """What `snakemake <name>` builds: the experiment's analysis outputs, its provenance
    record and every training output it reads (listing those makes a deleted CSV, or a
    record whose run key changed, rerun its job and everything downstream)."""
    exp = plan_.experiments[name]
    training = [f for job in plan_.jobs_for([name]) for f in (*job.csvs, job.record)]
    return [*analysis_outputs(exp), f"{exp.results_dir}/{exp.provenance}", *training]


def claim_csvs(plan_: Plan, claims: Mapping[str, Any], claim: str) -> list[str]:
    """The per-seed CSVs an improvement claim (``claims.<claim>``) is about."""
    imp = claims.get(claim)
    if imp is None:
        return []
    arm = plan_.experiments[imp["experiment"]].arms[imp["arm"]]
    return list(arm.csvs[imp["env"]].values())


def collapse_definition(plan_: Plan, config: Mapping[str, Any], fig: Mapping[str, Any]):
    """The collapse analysis settings a collapse figure labels its panels by: those of the
    experiment ``fig["collapse_from"]`` (None when it names none)."""
    name = fig.get("collapse_from")
    if name is None:
        return None
    if name in plan_.experiments:
        return plan_.experiments[name].analyses.get("collapse")
    return resolve_experiment(config, name).get("analyses", {}).get("collapse")
