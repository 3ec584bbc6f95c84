# The collapse study (analyses collapse, claims, rollouts): collapse metrics per run,
# statistics per arm, survival analysis, diagnostics, the rollouts animation and the claims
# table. Declared per experiment that asks for the collapse analysis (one env).

for exp in PLAN.experiments.values():
    if "collapse" not in exp.analyses:
        continue
    R, F, AGG = exp.results_dir, exp.figures_dir, f"{exp.results_dir}/aggregated"
    ENV = next(iter(exp.envs))
    COLLAPSE = exp.analyses["collapse"]
    REF = exp.arms[COLLAPSE["reference_arm"]]

    rule:
        name:
            f"aggregate_ablations_{exp.name}"
        input:
            csvs=exp.csvs(),
            records=PLAN.records(exp.csvs()),
        output:
            collapse=f"{AGG}/collapse.csv",
            ablations=f"{AGG}/ablations.csv",
            aligned=f"{AGG}/collapse_episodes.csv",
        log:
            f"{R}/logs/aggregate_ablations.log",
        benchmark:
            f"{R}/benchmarks/aggregate_ablations.tsv"
        conda:
            "../envs/a2c-repro.yaml"
        threads: 1
        resources:
            mem_mb=2000,
            runtime=10,
        params:
            arm_of_path={csv: arm for csv, (arm, _) in exp.path_labels().items()},
            labels=exp.labels(),
            collapse=COLLAPSE,
            final_fraction=config["analysis"]["final_fraction"],
            peak_window=config["analysis"]["peak_window"],
            bootstrap=config["analysis"]["bootstrap"],
        script:
            "../scripts/collapse_study.py"

    rule:
        name:
            f"collapse_survival_{exp.name}"
        input:
            collapse=f"{AGG}/collapse.csv",
        output:
            f"{AGG}/collapse_survival.csv",
        log:
            f"{R}/logs/collapse_survival.log",
        benchmark:
            f"{R}/benchmarks/collapse_survival.tsv"
        conda:
            "../envs/a2c-repro.yaml"
        threads: 1
        resources:
            mem_mb=1500,
            runtime=10,
        params:
            labels=exp.labels(),
            reference_arm=REF.name,
            confidence=config["analysis"]["bootstrap"]["confidence"],
            reference_of=COLLAPSE["reference_of"],
            common_episode=COLLAPSE["common_episode"],
        script:
            "../scripts/collapse_survival.py"

    rule:
        name:
            f"collapse_survival_figure_{exp.name}"
        input:
            collapse=f"{AGG}/collapse.csv",
            survival=f"{AGG}/collapse_survival.csv",
        output:
            report(
                f"{F}/collapse_survival.png",
                caption="../report/collapse_survival.rst",
                category="One-step collapse",
                labels={"figure": "time to collapse (Kaplan-Meier)"},
            ),
            f"{F}/collapse_survival.svg",
        log:
            f"{R}/logs/figures/collapse_survival.log",
        benchmark:
            f"{R}/benchmarks/figures/collapse_survival.tsv"
        conda:
            "../envs/a2c-repro.yaml"
        threads: 1
        resources:
            mem_mb=1500,
            runtime=10,
        params:
            facts=exp.facts(),
            env=ENV,
            labels=exp.labels(),
            reference_arm=REF.name,
            confidence=config["analysis"]["bootstrap"]["confidence"],
            counterpart=COLLAPSE["counterpart"],
        script:
            "../scripts/plot_collapse_survival.py"

    rule:
        name:
            f"collapse_diagnostics_{exp.name}"
        input:
            aligned=f"{AGG}/collapse_episodes.csv",
        output:
            report(
                f"{F}/collapse_diagnostics.png",
                caption="../report/collapse_diagnostics.rst",
                category="One-step collapse",
                labels={"figure": "diagnostics around the onset"},
            ),
            f"{F}/collapse_diagnostics.svg",
        log:
            f"{R}/logs/figures/collapse_diagnostics.log",
        benchmark:
            f"{R}/benchmarks/figures/collapse_diagnostics.tsv"
        conda:
            "../envs/a2c-repro.yaml"
        threads: 1
        resources:
            mem_mb=1500,
            runtime=10,
        params:
            facts=exp.facts(),
            env=ENV,
            label=REF.label,
            span=100,
        script:
            "../scripts/plot_collapse_diagnostics.py"

    rule:
        name:
            f"ablations_figure_{exp.name}"
        input:
            ablations=f"{AGG}/ablations.csv",
            collapse=f"{AGG}/collapse.csv",
        output:
            report(
                f"{F}/ablations.png",
                caption="../report/ablations.rst",
                category="One-step collapse",
                labels={"figure": "ablations"},
            ),
            f"{F}/ablations.svg",
        log:
            f"{R}/logs/figures/ablations.log",
        benchmark:
            f"{R}/benchmarks/figures/ablations.tsv"
        conda:
            "../envs/a2c-repro.yaml"
        threads: 1
        resources:
            mem_mb=1500,
            runtime=10,
        params:
            facts=exp.facts(),
            env=ENV,
            confidence=config["analysis"]["bootstrap"]["confidence"],
            final_fraction=config["analysis"]["final_fraction"],
            jitter_seed=config["analysis"]["bootstrap"]["seed"],
        script:
            "../scripts/plot_ablations.py"

    if "rollouts" in exp.analyses:

        rule:
            name:
                f"collapse_rollouts_{exp.name}"
            input:
                collapse=f"{AGG}/collapse.csv",
                csvs=list(REF.csvs[ENV].values()),
            output:
                # the animated PNG is the report's (browsers show it in the page); the GIF
                # is the same animation for everything else
                report(
                    f"{F}/collapse_rollouts.png",
                    caption="../report/collapse_rollouts.rst",
                    category="One-step collapse",
                    labels={"figure": "the policy at its peak and after its collapse"},
                ),
                f"{F}/collapse_rollouts.gif",
            log:
                f"{R}/logs/figures/collapse_rollouts.log",
            benchmark:
                f"{R}/benchmarks/figures/collapse_rollouts.tsv"
            conda:
                "../envs/a2c-repro.yaml"
            threads: 1
            resources:
                mem_mb=1500,
                runtime=20,
            params:
                facts=exp.facts(),
                arm=REF.name,
                env=ENV,
                engine=REF.variant,
                hyperparameters=REF.hyperparameters,
                csv_of_seed=REF.csvs[ENV],
                peak_window=config["analysis"]["peak_window"],
                rollouts=exp.analyses["rollouts"],
            script:
                "../scripts/plot_collapse_rollouts.py"

    if "claims" in exp.analyses:

        rule:
            name:
                f"claims_{exp.name}"
            input:
                collapse=f"{AGG}/collapse.csv",
                aligned=f"{AGG}/collapse_episodes.csv",
                improvement_runs=claim_csvs(PLAN, exp.analyses["claims"], "improvement"),
                notebook_loss_runs=claim_csvs(
                    PLAN, exp.analyses["claims"], "improvement_notebook_loss"
                ),
            output:
                report(
                    f"{R}/claims.csv",
                    caption="../report/claims.rst",
                    category="Claims of the notebooks",
                    labels={"table": "claims"},
                ),
            log:
                f"{R}/logs/claims.log",
            benchmark:
                f"{R}/benchmarks/claims.tsv"
            conda:
                "../envs/a2c-repro.yaml"
            threads: 1
            resources:
                mem_mb=1500,
                runtime=10,
            params:
                facts=exp.facts(),
                claims=exp.analyses["claims"],
                collapse=COLLAPSE,
                peak_window=config["analysis"]["peak_window"],
                bootstrap=config["analysis"]["bootstrap"],
            script:
                "../scripts/evaluate_claims.py"

    if "collapse_sensitivity" in exp.analyses:
        SENS = exp.analyses["collapse_sensitivity"]
        SENS_CSVS = {
            csv: arm
            for arm in SENS["arms"]
            for csv in exp.arms[arm].csvs[ENV].values()
        }

        rule:
            name:
                f"collapse_sensitivity_{exp.name}"
            input:
                csvs=list(SENS_CSVS),
                records=PLAN.records(SENS_CSVS),
            output:
                f"{AGG}/collapse_sensitivity.csv",
            log:
                f"{R}/logs/collapse_sensitivity.log",
            benchmark:
                f"{R}/benchmarks/collapse_sensitivity.tsv"
            conda:
                "../envs/a2c-repro.yaml"
            threads: 1
            resources:
                mem_mb=2000,
                runtime=30,
            params:
                arm_of_path=SENS_CSVS,
                collapse=COLLAPSE,
                peak_window=config["analysis"]["peak_window"],
                grid=SENS["grid"],
            script:
                "../scripts/collapse_sensitivity.py"

        rule:
            name:
                f"collapse_sensitivity_figure_{exp.name}"
            input:
                f"{AGG}/collapse_sensitivity.csv",
            output:
                report(
                    f"{F}/collapse_sensitivity.png",
                    caption="../report/collapse_sensitivity.rst",
                    category="One-step collapse",
                    labels={"figure": "the headline over the definition's thresholds"},
                ),
                f"{F}/collapse_sensitivity.svg",
            log:
                f"{R}/logs/figures/collapse_sensitivity.log",
            benchmark:
                f"{R}/benchmarks/figures/collapse_sensitivity.tsv"
            conda:
                "../envs/a2c-repro.yaml"
            threads: 1
            resources:
                mem_mb=1500,
                runtime=10,
            params:
                facts=exp.facts(),
                env=ENV,
                labels=exp.labels(),
            script:
                "../scripts/plot_collapse_sensitivity.py"
