# <results_dir>/<provenance>: what produced an experiment's results (git commit, package
# versions, platform, the sha256 of the experiment's planned settings). It is rewritten
# whenever one of the experiment's outputs is, is never part of byte-identity comparisons,
# and each experiment has its own, so rebuilding one never makes another's out of date.
import hashlib
import json

PACKAGES = [
    "a2c-repro",
    "torch",
    "gymnasium",
    "box2d",
    "numpy",
    "numba",
    "llvmlite",
    "pandas",
    "scipy",
    "statsmodels",
    "lifelines",
    "seaborn",
    "matplotlib",
    "snakemake",
]

for exp in PLAN.experiments.values():

    rule:
        name:
            f"provenance_{exp.name}"
        input:
            analysis_outputs(exp),
        output:
            f"{exp.results_dir}/{exp.provenance}",
        log:
            f"{exp.results_dir}/logs/provenance_{exp.name}.log",
        conda:
            "../envs/a2c-repro.yaml"
        threads: 1
        resources:
            mem_mb=1000,
            runtime=5,
        params:
            config_sha256=hashlib.sha256(
                json.dumps(
                    {"analysis": config["analysis"], "experiment": exp.settings},
                    sort_keys=True,
                    separators=(",", ":"),
                ).encode()
            ).hexdigest(),
            packages=PACKAGES,
        script:
            "../scripts/write_provenance.py"
