# The collapse study (config sections `ablations`, `collapse`, `claims`): collapse
# metrics per run, ablation statistics per arm, survival analysis, diagnostics, the
# rollouts animation and the claims table.


rule aggregate_ablations:
    input:
        csvs=ABLATION_CSVS,
        records=ABLATION_RECORDS,
    output:
        collapse=f"{AGG}/collapse.csv",
        ablations=f"{AGG}/ablations.csv",
        aligned=f"{AGG}/collapse_episodes.csv",
    log:
        f"{LOGS}/aggregate_ablations.log",
    benchmark:
        f"{BENCHMARKS}/aggregate_ablations.tsv"
    conda:
        "../envs/a2c-repro.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        arm_of_path=ablation_arm_of_path(),
        labels=ablation_labels(),
        collapse=config.get("collapse"),
        final_fraction=config["analysis"]["final_fraction"],
        peak_window=config["analysis"]["peak_window"],
        bootstrap=config["analysis"]["bootstrap"],
    script:
        "../scripts/collapse_study.py"


rule collapse_survival:
    input:
        collapse=f"{AGG}/collapse.csv",
    output:
        f"{AGG}/collapse_survival.csv",
    log:
        f"{LOGS}/collapse_survival.log",
    benchmark:
        f"{BENCHMARKS}/collapse_survival.tsv"
    conda:
        "../envs/a2c-repro.yaml"
    threads: 1
    resources:
        mem_mb=1500,
        runtime=10,
    params:
        labels=ablation_labels(),
        reference_arm=config.get("collapse", {}).get("reference_arm"),
        confidence=config["analysis"]["bootstrap"]["confidence"],
    script:
        "../scripts/collapse_survival.py"


rule collapse_survival_figure:
    input:
        collapse=f"{AGG}/collapse.csv",
        survival=f"{AGG}/collapse_survival.csv",
    output:
        report(
            f"{FIGURES}/collapse_survival.png",
            caption="../report/collapse_survival.rst",
            category="One-step collapse",
            labels={"figure": "time to collapse (Kaplan-Meier)"},
        ),
        f"{FIGURES}/collapse_survival.svg",
    log:
        f"{LOGS}/figures/collapse_survival.log",
    benchmark:
        f"{BENCHMARKS}/figures/collapse_survival.tsv"
    conda:
        "../envs/a2c-repro.yaml"
    threads: 1
    resources:
        mem_mb=1500,
        runtime=10,
    params:
        env=config.get("ablations", {}).get("env"),
        labels=ablation_labels(),
        reference_arm=config.get("collapse", {}).get("reference_arm"),
        confidence=config["analysis"]["bootstrap"]["confidence"],
    script:
        "../scripts/plot_collapse_survival.py"


rule collapse_rollouts:
    input:
        collapse=f"{AGG}/collapse.csv",
        csvs=list(reference_arm_run().get("csv_of_seed", {}).values()),
    output:
        report(
            f"{FIGURES}/collapse_rollouts.gif",
            caption="../report/collapse_rollouts.rst",
            category="One-step collapse",
            labels={"figure": "the policy at its peak and after its collapse"},
        ),
    log:
        f"{LOGS}/figures/collapse_rollouts.log",
    benchmark:
        f"{BENCHMARKS}/figures/collapse_rollouts.tsv"
    conda:
        "../envs/a2c-repro.yaml"
    threads: 1
    resources:
        mem_mb=1500,
        runtime=20,
    params:
        arm=reference_arm_run().get("arm"),
        env=reference_arm_run().get("env"),
        engine=reference_arm_run().get("engine"),
        hyperparameters=reference_arm_run().get("hyperparameters"),
        csv_of_seed=reference_arm_run().get("csv_of_seed"),
        peak_window=config["analysis"]["peak_window"],
        rollouts=config.get("rollouts", {}),
    script:
        "../scripts/plot_collapse_rollouts.py"


rule collapse_diagnostics:
    input:
        aligned=f"{AGG}/collapse_episodes.csv",
    output:
        report(
            f"{FIGURES}/collapse_diagnostics.png",
            caption="../report/collapse_diagnostics.rst",
            category="One-step collapse",
            labels={"figure": "diagnostics around the onset"},
        ),
        f"{FIGURES}/collapse_diagnostics.svg",
    log:
        f"{LOGS}/figures/collapse_diagnostics.log",
    benchmark:
        f"{BENCHMARKS}/figures/collapse_diagnostics.tsv"
    conda:
        "../envs/a2c-repro.yaml"
    threads: 1
    resources:
        mem_mb=1500,
        runtime=10,
    params:
        env=config.get("ablations", {}).get("env"),
        label=ablation_labels().get(config.get("collapse", {}).get("reference_arm")),
        span=100,
    script:
        "../scripts/plot_collapse_diagnostics.py"


rule ablations_figure:
    input:
        ablations=f"{AGG}/ablations.csv",
        collapse=f"{AGG}/collapse.csv",
    output:
        report(
            f"{FIGURES}/ablations.png",
            caption="../report/ablations.rst",
            category="One-step collapse",
            labels={"figure": "ablations"},
        ),
        f"{FIGURES}/ablations.svg",
    log:
        f"{LOGS}/figures/ablations.log",
    benchmark:
        f"{BENCHMARKS}/figures/ablations.tsv"
    conda:
        "../envs/a2c-repro.yaml"
    threads: 1
    resources:
        mem_mb=1500,
        runtime=10,
    params:
        env=config.get("ablations", {}).get("env"),
        confidence=config["analysis"]["bootstrap"]["confidence"],
        final_fraction=config["analysis"]["final_fraction"],
        jitter_seed=config["analysis"]["bootstrap"]["seed"],
    script:
        "../scripts/plot_ablations.py"


rule claims:
    input:
        collapse=f"{AGG}/collapse.csv",
        aligned=f"{AGG}/collapse_episodes.csv",
        improvement_runs=claim_run_csvs("improvement"),
        notebook_loss_runs=claim_run_csvs("improvement_notebook_loss"),
    output:
        report(
            f"{RESULTS}/claims.csv",
            caption="../report/claims.rst",
            category="Claims of the notebooks",
            labels={"table": "claims"},
        ),
    log:
        f"{LOGS}/claims.log",
    benchmark:
        f"{BENCHMARKS}/claims.tsv"
    conda:
        "../envs/a2c-repro.yaml"
    threads: 1
    resources:
        mem_mb=1500,
        runtime=10,
    params:
        claims=config.get("claims"),
        collapse=config.get("collapse"),
        peak_window=config["analysis"]["peak_window"],
        bootstrap=config["analysis"]["bootstrap"],
    script:
        "../scripts/evaluate_claims.py"
