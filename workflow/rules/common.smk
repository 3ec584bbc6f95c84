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
    check_env_ids([("experiment.envs", env) for env in cfg["experiment"]["envs"]])


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


def seed_groups(first, count, per_job):
    """Contiguous seed groups [(first, last), ...] of at most `per_job` seeds."""
    seeds = list(range(first, first + count))
    return [
        (chunk[0], chunk[-1])
        for chunk in (seeds[i : i + per_job] for i in range(0, len(seeds), per_job))
    ]


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
    mem_mb,
    runtime,
):
    """One training job per seed group; each trains its seeds in one engine process."""
    jobs = []
    for first, last in seed_groups(seeds["first"], seeds["count"], per_job):
        spec = str(first) if first == last else f"{first}-{last}"
        jobs.append(
            dict(
                name=f"train_{arm}_{env_slug(env_id)}_seeds{first}_{last}",
                experiment=experiment,
                arm=arm,
                engine=engine,
                env=env_id,
                spec=spec,
                episodes=episodes,
                set_args=set_args(hyperparameters),
                csvs=[
                    seed_csv(experiment, arm, env_id, engine, s)
                    for s in range(first, last + 1)
                ],
                timing=f"{run_dir(experiment, arm)}/{env_id}/{engine}/timings/seeds-{spec}.json",
                log=f"{LOGS}/train/{experiment}/{arm}/{env_id}/seeds-{spec}.log",
                benchmark=f"{BENCHMARKS}/train/{experiment}/{arm}/{env_id}/seeds-{spec}.tsv",
                mem_mb=mem_mb,
                runtime=runtime,
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
                config["experiment"]["seeds"],
                env_cfg["seeds_per_job"],
                env_cfg["mem_mb"],
                env_cfg["runtime"],
            )
    return jobs


TRAIN_JOBS = main_training_jobs()
MAIN_CSVS = [
    csv for job in TRAIN_JOBS if job["experiment"] == "main" for csv in job["csvs"]
]


def variant_labels():
    return {name: v.get("label", name) for name, v in config["variants"].items()}


def main_variant_of_path():
    return {
        csv: job["arm"]
        for job in TRAIN_JOBS
        if job["experiment"] == "main"
        for csv in job["csvs"]
    }


def engine_out_dir(wildcards, output):
    """The engine's --out DIR: output CSVs are DIR/<env_id>/<variant>/seed<k>.csv."""
    return str(Path(output.csvs[0]).parents[2])
