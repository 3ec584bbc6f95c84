# results/<config provenance>: what produced this experiment's results. It is rewritten
# whenever an aggregate is (so it always describes the run that made them) and is never
# part of byte-identity comparisons: it records the git commit and versions. Each experiment
# config names its own file (default provenance.json), so running the collapse study does
# not make the default experiment's record out of date, nor the other way round.


rule provenance:
    input:
        rules.aggregate.output,
        collapse_study_outputs(),
        fidelity_outputs(),
    output:
        f"{RESULTS}/{config['provenance']}",
    log:
        f"{LOGS}/{Path(config['provenance']).stem}.log",
    conda:
        "../envs/a2c-repro.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        config_sha256=CONFIG_SHA256,
        packages=[
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
        ],
    script:
        "../scripts/write_provenance.py"
