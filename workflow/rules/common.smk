# Configuration checks and the job table shared by all rules.
# Everything here runs when the workflow is parsed, i.e. before any job starts:
# a bad config stops the run with a message naming the key and nothing is written.
import hashlib
import os
import re
import json
import socket
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

try:
    from a2c_repro.config import ConfigError, apply_overrides, default_config, keys_of
    from a2c_repro.envs import env_dims
    from a2c_repro.layout import out_dir_of
    from a2c_repro.layout import run_dir as engine_run_dir
    from a2c_repro.layout import seed_csv as engine_seed_csv
    from a2c_repro.layout import seeds_spec
    from a2c_repro.run_key import run_identity, run_key
except ImportError as exc:
    raise WorkflowError(
        f"cannot import the a2c-repro engine ({exc}); run Snakemake from the project's "
        "environment (`make install`, the Docker image or environment.yml)"
    ) from None


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


def keep_only_envs(exp):
    """`experiment.only_envs`: drop the other envs now, before anything reads them (an
    overlay such as .test/config/config.yaml cannot remove the default config's envs).
    """
    only = exp.get("only_envs")
    if only is None:
        return
    for i, env_id in enumerate(only):
        if env_id not in exp["envs"]:
            config_error(
                f"experiment.only_envs[{i}]",
                f"{env_id!r} is not one of experiment.envs",
            )
    exp["envs"] = {env_id: s for env_id, s in exp["envs"].items() if env_id in only}


keep_only_envs(config["experiment"])


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
    check_variants(cfg)
    for arm, spec in (abl or {}).get("arms", {}).items():
        variant = cfg["variants"][spec["variant"]]
        engine_config(
            f"ablations.arms.{arm}.set",
            variant["engine"],
            {**variant["hyperparameters"], **spec.get("set", {})},
        )


def check_env_ids(keyed_env_ids):
    """Each env must be one the engine can train (registered, 1-D Box observations, Discrete
    actions): checked now, not inside a job."""
    for key, env_id in keyed_env_ids:
        try:
            env_dims(env_id)
        except ConfigError as exc:
            config_error(key, str(exc).removeprefix(f"--env {env_id}: "))


def engine_config(key, engine, hyperparameters):
    """The engine's full hyperparameters for a variant (or arm): validated by the engine
    itself (finite numbers, ranges, known keys), with a config key in the message."""
    try:
        return apply_overrides(default_config(engine), hyperparameters)
    except ConfigError as exc:
        config_error(key, str(exc).removeprefix("--set "))


def check_variants(cfg):
    """Every variant lists every hyperparameter its engine reads, and nothing else, so that
    the config alone says what each run is (no silent engine defaults)."""
    for name, variant in cfg["variants"].items():
        key = f"variants.{name}.hyperparameters"
        wanted = set(keys_of(variant["engine"]))
        given = set(variant["hyperparameters"])
        if wanted - given:
            config_error(
                key,
                f"missing {', '.join(sorted(wanted - given))}; list every hyperparameter "
                f"(`a2c-repro defaults --variant {variant['engine']}` prints them)",
            )
        if given - wanted:
            config_error(
                key,
                f"{', '.join(sorted(given - wanted))} not read by engine "
                f"{variant['engine']!r}; expected only {', '.join(keys_of(variant['engine']))}",
            )
        engine_config(key, variant["engine"], variant["hyperparameters"])


check_config(config)


# --- stale locks ---------------------------------------------------------------------------
# Snakemake's directory lock has no owner check: after a SIGKILL of Snakemake it stays, and
# every later run stops with LockException. Each run of this workflow records its pid (onstart
# in the Snakefile); a lock whose recorded owners on this host have all died is removed here.
OWNERS = Path(".snakemake/a2c-repro-owners")
HOST = socket.gethostname()


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_locks():
    locks = Path(".snakemake/locks")
    owners = list(OWNERS.glob("*")) if OWNERS.is_dir() else []
    if not (locks.is_dir() and any(locks.iterdir()) and owners):
        return
    for owner in owners:
        host, _, pid = owner.name.rpartition(".")
        if host != HOST or not pid.isdigit() or _alive(int(pid)):
            return  # a live (or unknown) owner: its lock stands
    for f in [*locks.iterdir(), *owners]:
        f.unlink(missing_ok=True)
    print(
        "Removed the lock of a Snakemake run that was killed "
        f"(pid {', '.join(o.name.rpartition('.')[2] for o in owners)}).",
        file=sys.stderr,
    )


def register_owner():
    OWNERS.mkdir(parents=True, exist_ok=True)
    (OWNERS / f"{HOST}.{os.getpid()}").touch()


def unregister_owner():
    (OWNERS / f"{HOST}.{os.getpid()}").unlink(missing_ok=True)


# --- a fresh checkout's file times -----------------------------------------------------------
# Snakemake reruns a job whose input, or script, is newer than its output. git does not keep
# file times: a checkout writes files in path order, so committed outputs look older or newer
# than their inputs and scripts by chance. Before the first run in a checkout (no .snakemake/
# yet), every file under the results and figures directories gets one time, a second after
# the newest checked-out source (Snakemake wants outputs strictly newer than their scripts),
# leaving out sources edited since the checkout (so an edited script still reruns its rule). From then on times mean what Snakemake expects; changes to what a run
# computes are found by run keys (see training_jobs), missing outputs and regenerated inputs.
def equalize_checkout_times(dirs):
    if Path(".snakemake").exists():
        return
    outputs = [
        p for d in dirs if Path(d).is_dir() for p in Path(d).rglob("*") if p.is_file()
    ]
    if not outputs:
        return
    sources = [Path("Snakefile")] + [
        p for d in ("workflow", "config", "profiles") for p in Path(d).rglob("*")
    ]
    import subprocess

    try:  # no git (e.g. the Docker image): every source counts as checked out
        edited = subprocess.run(
            ["git", "ls-files", "--modified", "--others", "--exclude-standard"],
            capture_output=True,
            text=True,
            check=False,
        )
        edited = set(edited.stdout.split()) if edited.returncode == 0 else set()
    except OSError:
        edited = set()
    newest = max(
        p.stat().st_mtime_ns
        for p in outputs + sources
        if p.is_file() and str(p) not in edited
    )
    newest += 1_000_000_000
    # A file we may not touch (another user's read-only checkout) keeps its time.
    for p in outputs:
        try:
            os.utime(p, ns=(newest, newest))
        except PermissionError:
            pass
    print(
        f"First run in this checkout: gave the {len(outputs)} files under "
        f"{' and '.join(dirs)} the checkout's time (git keeps no file times).",
        file=sys.stderr,
    )


if workflow.is_main_process:
    remove_stale_locks()

RESULTS = config["results_dir"].rstrip("/")
FIGURES = config["figures_dir"].rstrip("/")
if workflow.is_main_process:
    equalize_checkout_times([RESULTS, FIGURES])
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
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return repr(value) if isinstance(value, float) else str(value)


def set_args(hyperparameters):
    return " ".join(
        f"--set {key}={format_value(value)}"
        for key, value in sorted(hyperparameters.items())
    )


def run_dir(experiment, arm):
    """The engine's --out directory of one arm of one experiment."""
    return f"{RESULTS}/runs/{experiment}/{arm}"


def seed_csv(experiment, arm, env_id, engine, seed):
    """Where the engine writes the seed's CSV (the engine's layout, a2c_repro.layout)."""
    return engine_seed_csv(run_dir(experiment, arm), env_id, engine, seed).as_posix()


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
    implementation="fast",
):
    """One training job per seed group; each trains its seeds in one engine process.

    A job's record file (its run's identity and timing, written by the engine) carries the
    run key in its name: changing anything the CSVs depend on (a hyperparameter, the
    episodes, the seeds, the engine version) changes the key, so the record is missing and
    the job reruns, in a fresh clone too, without Snakemake metadata or file times."""
    prefix = "train_" if experiment == "main" else f"train_{experiment}_"
    cfg = engine_config(f"{experiment}.{arm}", engine, hyperparameters)
    jobs = []
    for first, last in seed_groups(seeds, per_job):
        out = run_dir(experiment, arm)
        seeds_of_job = list(range(first, last + 1))
        spec = seeds_spec(seeds_of_job)
        key = run_key(
            run_identity(engine, env_id, seeds_of_job, episodes, cfg, implementation)
        )
        records = f"{engine_run_dir(out, env_id, engine).as_posix()}/records"
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
                record=f"{records}/seeds-{spec}.{key}.json",
                stale_records=f"{records}/seeds-{spec}.*.json",
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


def records_of(csvs):
    """The records of the training jobs that write `csvs`. Rules that read CSVs take these
    as inputs too: Snakemake runs a job only for outputs that are needed, so this is what
    makes a job whose run key changed (its record is missing) rerun."""
    wanted = set(csvs)
    return [job["record"] for job in TRAIN_JOBS if wanted.intersection(job["csvs"])]


MAIN_RECORDS = records_of(MAIN_CSVS)
TRAIN_OUTPUTS = [f for job in TRAIN_JOBS for f in [*job["csvs"], job["record"]]]
ABLATION_RECORDS = records_of(ABLATION_CSVS)


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
    """The job's `a2c-repro train --out`, from its outputs (Snakemake wants a path prefix of
    the outputs derived from them, not a string, for runs without a shared filesystem).
    """
    return str(out_dir_of(output.csvs[0]))


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


def reference_arm_run():
    """The reference arm's engine, env, hyperparameters and {seed: CSV}."""
    if not ABLATION_RUNS:
        return {}
    abl = config["ablations"]
    arm = config["collapse"]["reference_arm"]
    spec = abl["arms"][arm]
    variant = config["variants"][spec["variant"]]
    seeds = seed_list(spec.get("seeds", abl["seeds"]))
    return dict(
        arm=arm,
        env=abl["env"],
        engine=variant["engine"],
        hyperparameters={**variant["hyperparameters"], **spec.get("set", {})},
        csv_of_seed=dict(zip(seeds, ABLATION_RUNS[arm]["csvs"])),
    )


def claim_run_csvs(key):
    """The main runs that the claim `claims.<key>` (an improvement claim) is about."""
    imp = config.get("claims", {}).get(key)
    if not imp:
        return []
    if imp["variant"] not in MAIN_VARIANTS:
        config_error(
            f"claims.{key}.variant",
            f"{imp['variant']!r} is not one of experiment.variants",
        )
    engine = config["variants"][imp["variant"]]["engine"]
    return [
        seed_csv("main", imp["variant"], imp["env"], engine, s)
        for s in seed_list(config["experiment"]["seeds"])
    ]
