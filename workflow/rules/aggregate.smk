# Aggregation of the main experiment's per-seed CSVs into tidy tables.


rule aggregate:
    input:
        csvs=MAIN_CSVS,
        records=MAIN_RECORDS,
    output:
        episodes=f"{AGG}/episodes.csv",
        summary=f"{AGG}/summary.csv",
        summary_env_steps=f"{AGG}/summary_env_steps.csv",
        final=f"{AGG}/final.csv",
    log:
        f"{LOGS}/aggregate.log",
    benchmark:
        f"{BENCHMARKS}/aggregate.tsv"
    conda:
        "../envs/a2c-repro.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        analysis=config["analysis"],
        variant_of_path=main_variant_of_path(),
    script:
        "../scripts/aggregate_runs.py"
