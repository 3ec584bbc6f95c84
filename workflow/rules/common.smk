# Configuration checks and the job table shared by all rules.
# Everything here runs when the workflow is parsed, i.e. before any job starts:
# a bad config stops the run with a message naming the key and nothing is written.
import hashlib
import re
import json
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate


def config_error(key, message):
    raise WorkflowError(f"Invalid config: {key}: {message}")


def check_schema(cfg, schema_path):
    """Schema check with a one-line message that names the offending key first."""
    import jsonschema
    import yaml

    schema = yaml.safe_load(Path(schema_path).read_text())
    error = jsonschema.exceptions.best_match(
        jsonschema.Draft202012Validator(schema).iter_errors(cfg)
    )
    if error is not None:
        key = ".".join(str(p) for p in error.absolute_path) or "(top level)"
        config_error(key, error.message)


check_schema(config, Path(workflow.basedir) / "workflow/schemas/config.schema.yaml")
validate(config, schema="../schemas/config.schema.yaml")  # also fills in the defaults


def study_arms(abl):
    """The arms the collapse study runs: `only_arms` if given, else every arm."""
    return {
        arm: spec
        for arm, spec in abl["arms"].items()
        if arm in abl.get("only_arms", abl["arms"])
    }


def check_config(cfg):
    """Cross-key checks that JSON Schema cannot express."""
    variants = cfg["variants"]
    for i, name in enumerate(cfg["experiment"]["variants"]):
        if name not in variants:
            config_error(
                f"experiment.variants[{i}]",
                f"{name!r} is not defined under 'variants' (defined: {sorted(variants)})",
            )
    fig = cfg["collapse_figure"]
    if fig["variant"] not in cfg["experiment"]["variants"]:
        config_error(
            "collapse_figure.variant",
            f"{fig['variant']!r} is not one of experiment.variants",
        )
    if fig["env"] not in cfg["experiment"]["envs"]:
        config_error(
            "collapse_figure.env", f"{fig['env']!r} is not one of experiment.envs"
        )
    nb = fig["notebook_eval"]
    if len(nb["episodes"]) != len(nb["returns"]):
        config_error(
            "collapse_figure.notebook_eval",
            f"episodes has {len(nb['episodes'])} entries but returns has {len(nb['returns'])}",
        )
    env_keys = [(f"experiment.envs.{env}", env) for env in cfg["experiment"]["envs"]]
    abl = cfg.get("ablations")
    if abl:
        env_keys.append(("ablations.env", abl["env"]))
        for i, arm in enumerate(abl.get("only_arms", [])):
            if arm not in abl["arms"]:
                config_error(
                    f"ablations.only_arms[{i}]", f"{arm!r} is not one of ablations.arms"
                )
        for arm, spec in abl["arms"].items():
            if spec["variant"] not in variants:
                config_error(
                    f"ablations.arms.{arm}.variant",
                    f"{spec['variant']!r} is not defined under 'variants'",
                )
    if ("collapse" in cfg or "claims" in cfg) and not abl:
        config_error(
            "ablations", "the collapse study and the claims need the ablations"
        )
    if abl and not ("collapse" in cfg and "claims" in cfg):
        config_error(
            "collapse", "the ablations need the 'collapse' and 'claims' sections"
        )
    if abl and cfg["collapse"]["reference_arm"] not in study_arms(abl):
        config_error(
            "collapse.reference_arm",
            f"{cfg['collapse']['reference_arm']!r} is not one of the study's arms",
        )
    if abl:
        imp = cfg["claims"]["improvement"]
        if imp["env"] not in cfg["experiment"]["envs"]:
            config_error(
                "claims.improvement.env",
                f"{imp['env']!r} is not one of experiment.envs",
            )
        if imp["variant"] not in cfg["experiment"]["variants"]:
            config_error(
                "claims.improvement.variant",
                f"{imp['variant']!r} is not one of experiment.variants",
            )
    check_env_ids(env_keys)


def check_env_ids(keyed_env_ids):
    import gymnasium

    for key, env_id in keyed_env_ids:
        if env_id not in gymnasium.envs.registry:
            config_error(key, f"{env_id!r} is not a registered Gymnasium environment")


check_config(config)

RESULTS = config["results_dir"].rstrip("/")
FIGURES = config["figures_dir"].rstrip("/")
LOGS = f"{RESULTS}/logs"
BENCHMARKS = f"{RESULTS}/benchmarks"
AGG = f"{RESULTS}/aggregated"
MAIN_ENVS = list(config["experiment"]["envs"])
MAIN_VARIANTS = list(config["experiment"]["variants"])
CONFIG_SHA256 = hashlib.sha256(
    json.dumps(config, sort_keys=True, separators=(",", ":")).encode()
).hexdigest()


def env_slug(env_id):
    """CartPole-v1 -> CartPole_v1 (for rule names)."""
    return env_id.replace("-", "_")


def seed_groups(seeds, per_job):
    """Split a sorted seed list into runs of consecutive seeds, at most `per_job` each:
    [(first, last), ...]."""
    groups, current = [], []
    for seed in seeds:
        if current and (seed != current[-1] + 1 or len(current) == per_job):
            groups.append((current[0], current[-1]))
            current = []
        current.append(seed)
    if current:
        groups.append((current[0], current[-1]))
    return groups


def seed_list(seeds):
    return list(range(seeds["first"], seeds["first"] + seeds["count"]))


def format_value(value):
    """A hyperparameter as the engine's `--set key=value` expects it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    return repr(value) if isinstance(value, float) else str(value)


def set_args(hyperparameters):
    return " ".join(
        f"--set {key}={format_value(value)}"
        for key, value in sorted(hyperparameters.items())
    )


def run_dir(experiment, arm):
    return f"{RESULTS}/runs/{experiment}/{arm}"


def seed_csv(experiment, arm, env_id, engine, seed):
    return f"{run_dir(experiment, arm)}/{env_id}/{engine}/seed{seed}.csv"


def training_jobs(
    experiment,
    arm,
    engine,
    hyperparameters,
    env_id,
    episodes,
    seeds,
    per_job,
    resources,
):
    """One training job per seed group; each trains its seeds in one engine process."""
    prefix = "train_" if experiment == "main" else f"train_{experiment}_"
    jobs = []
    for first, last in seed_groups(seeds, per_job):
        spec = str(first) if first == last else f"{first}-{last}"
        out = run_dir(experiment, arm)
        jobs.append(
            dict(
                name=f"{prefix}{arm}_{env_slug(env_id)}_seeds{first}_{last}",
                engine=engine,
                env=env_id,
                spec=spec,
                episodes=episodes,
                set_args=set_args(hyperparameters),
                csvs=[
                    seed_csv(experiment, arm, env_id, engine, s)
                    for s in range(first, last + 1)
                ],
                timing=f"{out}/{env_id}/{engine}/timings/seeds-{spec}.json",
                log=f"{LOGS}/train/{experiment}/{arm}/{env_id}/seeds-{spec}.log",
                benchmark=f"{BENCHMARKS}/train/{experiment}/{arm}/{env_id}/seeds-{spec}.tsv",
                mem_mb=resources["mem_mb"],
                runtime=resources["runtime"],
            )
        )
    return jobs


def main_training_jobs():
    jobs = []
    for env_id, env_cfg in config["experiment"]["envs"].items():
        for name in MAIN_VARIANTS:
            variant = config["variants"][name]
            jobs += training_jobs(
                "main",
                name,
                variant["engine"],
                variant["hyperparameters"],
                env_id,
                env_cfg["episodes"],
                seed_list(config["experiment"]["seeds"]),
                env_cfg["seeds_per_job"],
                env_cfg,
            )
    return jobs


def ablation_runs():
    """{arm: dict(csvs=[per-seed CSV], jobs=[training jobs])} of the ablation study.

    An arm without overrides of a variant that the main experiment already trains on the
    same env for the same number of episodes reuses the main runs' CSVs for the shared
    seeds (they are the same runs) and trains only the missing seeds next to them."""
    abl = config.get("ablations")
    if not abl:
        return {}
    env_id = abl["env"]
    main_env = config["experiment"]["envs"].get(env_id)
    runs = {}
    for arm, spec in study_arms(abl).items():
        episodes = spec.get("episodes", abl["episodes"])
        variant = config["variants"][spec["variant"]]
        overrides = spec.get("set", {})
        hyperparameters = {**variant["hyperparameters"], **overrides}
        seeds = seed_list(spec.get("seeds", abl["seeds"]))
        reuse = (
            not overrides
            and spec["variant"] in MAIN_VARIANTS
            and main_env is not None
            and main_env["episodes"] == episodes
        )
        if reuse:
            experiment, run_name = "main", spec["variant"]
            trained = set(seed_list(config["experiment"]["seeds"]))
        else:
            experiment, run_name, trained = "ablations", arm, set()
        jobs = training_jobs(
            experiment,
            run_name,
            variant["engine"],
            hyperparameters,
            env_id,
            episodes,
            [s for s in seeds if s not in trained],
            abl["seeds_per_job"],
            abl,
        )
        csvs = [
            seed_csv(experiment, run_name, env_id, variant["engine"], s) for s in seeds
        ]
        runs[arm] = dict(csvs=csvs, jobs=jobs)
    return runs


MAIN_TRAIN_JOBS = main_training_jobs()
MAIN_CSVS = [csv for job in MAIN_TRAIN_JOBS for csv in job["csvs"]]
ABLATION_RUNS = ablation_runs()
ABLATION_CSVS = [csv for run in ABLATION_RUNS.values() for csv in run["csvs"]]
TRAIN_JOBS = MAIN_TRAIN_JOBS + [
    job for run in ABLATION_RUNS.values() for job in run["jobs"]
]


def ablation_arm_of_path():
    return {csv: arm for arm, run in ABLATION_RUNS.items() for csv in run["csvs"]}


def variant_labels():
    return {name: v.get("label", name) for name, v in config["variants"].items()}


def main_variant_of_path():
    return {
        csv: name
        for name in MAIN_VARIANTS
        for job in MAIN_TRAIN_JOBS
        for csv in job["csvs"]
        if f"/runs/main/{name}/" in csv
    }


def engine_out_dir(wildcards, output):
    """The engine's --out DIR: output CSVs are DIR/<env_id>/<variant>/seed<k>.csv."""
    return str(Path(output.csvs[0]).parents[2])


def ablation_labels():
    if not config.get("ablations"):
        return {}
    arms = study_arms(config["ablations"])
    return {arm: spec.get("label", arm) for arm, spec in arms.items()}


def collapse_study_outputs():
    """The collapse study's targets, if the config has an `ablations` section."""
    if not ABLATION_RUNS:
        return []
    return [
        f"{AGG}/collapse.csv",
        f"{AGG}/ablations.csv",
        f"{RESULTS}/claims.csv",
        f"{FIGURES}/collapse_diagnostics.png",
        f"{FIGURES}/collapse_diagnostics.svg",
        f"{FIGURES}/ablations.png",
        f"{FIGURES}/ablations.svg",
        f"{AGG}/collapse_survival.csv",
        f"{FIGURES}/collapse_survival.png",
        f"{FIGURES}/collapse_survival.svg",
        f"{FIGURES}/collapse_rollouts.gif",
    ]
