# The fidelity experiment's plan: its config checks and its training jobs (rules:
# fidelity.smk). Included whether or not the config has a `fidelity` section.
import jsonschema
import yaml

FIDELITY = config.get("fidelity")
FIDELITY_SIDES = ("engine", "notebook")
ENGINE_SWITCH = {"engine": "fast", "notebook": "notebook"}


def check_fidelity(fid):
    """Schema (with defaults filled in) and cross-key checks of the `fidelity` section."""
    schema = yaml.safe_load(
        (Path(workflow.basedir) / "workflow/schemas/fidelity.schema.yaml").read_text()
    )
    error = jsonschema.exceptions.best_match(
        jsonschema.Draft202012Validator(schema).iter_errors(fid)
    )
    if error is not None:
        key = ".".join(["fidelity", *(str(p) for p in error.absolute_path)])
        config_error(key, error.message)
    validate(fid, schema="../schemas/fidelity.schema.yaml")
    from a2c_repro.config import ConfigError
    from a2c_repro.notebook_engine import notebook_config

    for name, comp in fid["comparisons"].items():
        key = f"fidelity.comparisons.{name}"
        if comp["variant"] not in config["variants"]:
            config_error(
                f"{key}.variant",
                f"{comp['variant']!r} is not defined under 'variants'",
            )
        variant = config["variants"][comp["variant"]]
        try:
            notebook_config(
                variant["engine"],
                {**variant["hyperparameters"], **comp.get("set", {})},
            )
        except ConfigError as exc:
            config_error(f"{key}.set", f"the notebook side cannot run it: {exc}")
        if "eval_episode" in comp:
            interval = {**variant["hyperparameters"], **comp.get("set", {})}.get(
                "eval_interval", 0
            )
            if comp["eval_episode"] >= comp["episodes"]:
                config_error(
                    f"{key}.eval_episode",
                    f"{comp['eval_episode']} is not below episodes ({comp['episodes']})",
                )
            if interval == 0 or comp["eval_episode"] % interval:
                config_error(
                    f"{key}.eval_episode",
                    f"no evaluation at episode {comp['eval_episode']}: the runs evaluate "
                    f"every {interval} episodes (eval_interval; 0 = never)",
                )
        needs = {
            "collapse_rate": "collapse",
            "never_learned_rate": "collapse",
            "eval_return": "eval_episode",
        }
        for measure, section in needs.items():
            if measure in comp["margins"] and section not in comp:
                config_error(f"{key}.margins.{measure}", f"needs {key}.{section}")
        check_env_ids([(f"{key}.env", comp["env"])])


def fidelity_runs():
    """{(comparison, side): dict(csvs=[per-seed CSV], jobs=[training jobs])}."""
    if not FIDELITY:
        return {}
    runs = {}
    for name, comp in FIDELITY["comparisons"].items():
        variant = config["variants"][comp["variant"]]
        hyperparameters = {**variant["hyperparameters"], **comp.get("set", {})}
        for side in FIDELITY_SIDES:
            jobs = training_jobs(
                "fidelity",
                f"{name}_{side}",
                variant["engine"],
                hyperparameters,
                comp["env"],
                comp["episodes"],
                seed_list(comp["seeds"]),
                comp[side]["seeds_per_job"],
                comp[side],
                ENGINE_SWITCH[side],
            )
            for job in jobs:
                job["switch"] = ENGINE_SWITCH[side]
            runs[(name, side)] = dict(
                csvs=[csv for job in jobs for csv in job["csvs"]], jobs=jobs
            )
    return runs


if FIDELITY:
    check_fidelity(FIDELITY)
FIDELITY_RUNS = fidelity_runs()
FIDELITY_CSVS = [csv for run in FIDELITY_RUNS.values() for csv in run["csvs"]]
FIDELITY_TRAIN_OUTPUTS = [
    f
    for run in FIDELITY_RUNS.values()
    for job in run["jobs"]
    for f in [*job["csvs"], job["record"]]
]


def fidelity_outputs():
    if not FIDELITY:
        return []
    return [
        f"{RESULTS}/fidelity.csv",
        f"{FIGURES}/fidelity.png",
        f"{FIGURES}/fidelity.svg",
    ]
