# The comparison of arms across envs (analyses learning_curves, final_returns and
# collapse_figure; the main experiment): tidy aggregates of the per-seed CSVs, then figures.
# Rules are declared per experiment that asks for these analyses; a rule's name ends in its
# experiment's name.
import re

for exp in PLAN.experiments.values():
    if not {"learning_curves", "final_returns", "collapse_figure"} & set(exp.analyses):
        continue
    R, F, AGG = exp.results_dir, exp.figures_dir, f"{exp.results_dir}/aggregated"

    rule:
        name:
            f"aggregate_{exp.name}"
        input:
            csvs=exp.csvs(),
            records=PLAN.records(exp.csvs()),
        output:
            episodes=f"{AGG}/episodes.csv",
            summary=f"{AGG}/summary.csv",
            summary_env_steps=f"{AGG}/summary_env_steps.csv",
            final=f"{AGG}/final.csv",
        log:
            f"{R}/logs/aggregate.log",
        benchmark:
            f"{R}/benchmarks/aggregate.tsv"
        conda:
            "../envs/a2c-repro.yaml"
        threads: 1
        resources:
            mem_mb=2000,
            runtime=10,
        params:
            analysis=config["analysis"],
            variant_of_path={csv: arm for csv, (arm, _) in exp.path_labels().items()},
        script:
            "../scripts/aggregate_runs.py"

    if "learning_curves" in exp.analyses:

        rule:
            name:
                f"learning_curves_{exp.name}"
            input:
                episodes=f"{AGG}/episodes.csv",
                summary=f"{AGG}/summary.csv",
                summary_env_steps=f"{AGG}/summary_env_steps.csv",
            output:
                by_episode=[
                    report(
                        f"{F}/learning_curves_{{env}}.png",
                        caption="../report/learning_curves.rst",
                        category="Learning curves",
                        subcategory="{env}",
                        labels={"env": "{env}", "x axis": "episodes"},
                    ),
                    f"{F}/learning_curves_{{env}}.svg",
                ],
                by_env_steps=[
                    report(
                        f"{F}/learning_curves_{{env}}_env_steps.png",
                        caption="../report/learning_curves_env_steps.rst",
                        category="Learning curves",
                        subcategory="{env}",
                        labels={"env": "{env}", "x axis": "environment steps"},
                    ),
                    f"{F}/learning_curves_{{env}}_env_steps.svg",
                ],
            log:
                f"{R}/logs/figures/learning_curves_{{env}}.log",
            benchmark:
                f"{R}/benchmarks/figures/learning_curves_{{env}}.tsv"
            wildcard_constraints:
                env="|".join(re.escape(e) for e in exp.envs),
            conda:
                "../envs/a2c-repro.yaml"
            threads: 1
            resources:
                mem_mb=1500,
                runtime=10,
            params:
                facts=exp.facts(),
                env=lambda wildcards: wildcards.env,
                variants=list(exp.arms),
                labels=exp.labels(),
                smoothing_window=config["analysis"]["smoothing_window"],
                confidence=config["analysis"]["bootstrap"]["confidence"],
            script:
                "../scripts/plot_learning_curves.py"

    if "collapse_figure" in exp.analyses:

        rule:
            name:
                f"one_step_collapse_{exp.name}"
            input:
                episodes=f"{AGG}/episodes.csv",
            output:
                report(
                    f"{F}/one_step_collapse.png",
                    caption="../report/one_step_collapse.rst",
                    category="One-step collapse",
                    labels={"figure": "every seed vs the notebook"},
                ),
                f"{F}/one_step_collapse.svg",
            log:
                f"{R}/logs/figures/one_step_collapse.log",
            benchmark:
                f"{R}/benchmarks/figures/one_step_collapse.tsv"
            conda:
                "../envs/a2c-repro.yaml"
            threads: 1
            resources:
                mem_mb=1500,
                runtime=10,
            params:
                facts=exp.facts(),
                env=exp.analyses["collapse_figure"]["env"],
                variant=exp.analyses["collapse_figure"]["arm"],
                variants=list(exp.arms),
                label=exp.labels()[exp.analyses["collapse_figure"]["arm"]],
                window=exp.analyses["collapse_figure"]["moving_window"],
                notebook_eval=exp.analyses["collapse_figure"]["notebook_eval"],
                collapse=collapse_definition(
                    PLAN, config, exp.analyses["collapse_figure"]
                ),
                peak_window=config["analysis"]["peak_window"],
            script:
                "../scripts/plot_one_step_collapse.py"

    if "final_returns" in exp.analyses:

        rule:
            name:
                f"final_returns_{exp.name}"
            input:
                final=f"{AGG}/final.csv",
            output:
                report(
                    f"{F}/final_returns.png",
                    caption="../report/final_returns.rst",
                    category="Final returns",
                    labels={"figure": "final return per seed"},
                ),
                f"{F}/final_returns.svg",
            log:
                f"{R}/logs/figures/final_returns.log",
            benchmark:
                f"{R}/benchmarks/figures/final_returns.tsv"
            conda:
                "../envs/a2c-repro.yaml"
            threads: 1
            resources:
                mem_mb=1500,
                runtime=10,
            params:
                facts=exp.facts(),
                envs=list(exp.envs),
                variants=list(exp.arms),
                labels=exp.labels(),
                final_fraction=config["analysis"]["final_fraction"],
                jitter_seed=config["analysis"]["bootstrap"]["seed"],
            script:
                "../scripts/plot_final_returns.py"
