# The fidelity experiment (config section `fidelity`): each comparison trains one
# configuration with the fast engine and with the notebooks' own code
# (`a2c-repro train --engine notebook`), then tests every measure for a difference and
# for equivalence within the margin the config states.


for job in [job for run in FIDELITY_RUNS.values() for job in run["jobs"]]:

    rule:
        name:
            job["name"]
        output:
            csvs=job["csvs"],
            record=job["record"],
        log:
            job["log"],
        benchmark:
            job["benchmark"]
        conda:
            "../envs/a2c-repro.yaml"
        threads: 1
        resources:
            mem_mb=job["mem_mb"],
            runtime=job["runtime"],
        params:
            switch=job["switch"],
            engine=job["engine"],
            env=job["env"],
            seeds=job["spec"],
            episodes=job["episodes"],
            hyperparameters=job["set_args"],
            out=engine_out_dir,
            stale_records=job["stale_records"],
        shell:
            "rm -f {params.stale_records} && "
            "a2c-repro train --engine {params.switch} --variant {params.engine}"
            " --env {params.env} --seeds {params.seeds} --episodes {params.episodes}"
            " --out {params.out} --record {output.record} {params.hyperparameters} 2> {log}"


rule fidelity_table:
    input:
        csvs=FIDELITY_CSVS,
    output:
        table=report(
            f"{RESULTS}/fidelity.csv",
            caption="../report/fidelity.rst",
            category="Fidelity: engine vs notebook code",
            labels={"table": "fidelity"},
        ),
        runs=f"{AGG}/fidelity_runs.csv",
    log:
        f"{LOGS}/fidelity.log",
    benchmark:
        f"{BENCHMARKS}/fidelity.tsv"
    conda:
        "../envs/a2c-repro.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        side_of_path={
            csv: [name, side]
            for (name, side), run in FIDELITY_RUNS.items()
            for csv in run["csvs"]
        },
        fidelity=FIDELITY,
    script:
        "../scripts/fidelity.py"


rule fidelity_figure:
    input:
        runs=f"{AGG}/fidelity_runs.csv",
        table=f"{RESULTS}/fidelity.csv",
    output:
        report(
            f"{FIGURES}/fidelity.png",
            caption="../report/fidelity.rst",
            category="Fidelity: engine vs notebook code",
            labels={"figure": "fidelity ECDFs"},
        ),
        f"{FIGURES}/fidelity.svg",
    log:
        f"{LOGS}/figures/fidelity.log",
    benchmark:
        f"{BENCHMARKS}/figures/fidelity.tsv"
    conda:
        "../envs/a2c-repro.yaml"
    threads: 1
    resources:
        mem_mb=1500,
        runtime=10,
    params:
        labels={
            name: comp.get("label", name)
            for name, comp in (FIDELITY or {}).get("comparisons", {}).items()
        },
        eval_episodes={
            name: comp.get("eval_episode")
            for name, comp in (FIDELITY or {}).get("comparisons", {}).items()
        },
        peak_window=(FIDELITY or {}).get("peak_window"),
        final_window=(FIDELITY or {}).get("final_window"),
    script:
        "../scripts/plot_fidelity.py"


rule fidelity:
    # target: the fidelity table and figure alone (the default target adds provenance)
    input:
        fidelity_outputs(),
