# Figures of the main experiment (PNG for the report, SVG alongside).


rule learning_curves:
    input:
        episodes=f"{AGG}/episodes.csv",
        summary=f"{AGG}/summary.csv",
        summary_env_steps=f"{AGG}/summary_env_steps.csv",
    output:
        by_episode=[
            report(
                f"{FIGURES}/learning_curves_{{env}}.png",
                caption="../report/learning_curves.rst",
                category="Learning curves",
                subcategory="{env}",
                labels={"env": "{env}", "x axis": "episodes"},
            ),
            f"{FIGURES}/learning_curves_{{env}}.svg",
        ],
        by_env_steps=[
            report(
                f"{FIGURES}/learning_curves_{{env}}_env_steps.png",
                caption="../report/learning_curves_env_steps.rst",
                category="Learning curves",
                subcategory="{env}",
                labels={"env": "{env}", "x axis": "environment steps"},
            ),
            f"{FIGURES}/learning_curves_{{env}}_env_steps.svg",
        ],
    log:
        f"{LOGS}/figures/learning_curves_{{env}}.log",
    benchmark:
        f"{BENCHMARKS}/figures/learning_curves_{{env}}.tsv"
    wildcard_constraints:
        env="|".join(re.escape(e) for e in MAIN_ENVS),
    conda:
        "../envs/a2c-repro.yaml"
    threads: 1
    resources:
        mem_mb=1500,
        runtime=10,
    params:
        env=lambda wildcards: wildcards.env,
        variants=MAIN_VARIANTS,
        labels=variant_labels(),
        smoothing_window=config["analysis"]["smoothing_window"],
        confidence=config["analysis"]["bootstrap"]["confidence"],
    script:
        "../scripts/plot_learning_curves.py"


rule one_step_collapse:
    input:
        episodes=f"{AGG}/episodes.csv",
    output:
        report(
            f"{FIGURES}/one_step_collapse.png",
            caption="../report/one_step_collapse.rst",
            category="One-step collapse",
            labels={"figure": "every seed vs the notebook"},
        ),
        f"{FIGURES}/one_step_collapse.svg",
    log:
        f"{LOGS}/figures/one_step_collapse.log",
    benchmark:
        f"{BENCHMARKS}/figures/one_step_collapse.tsv"
    conda:
        "../envs/a2c-repro.yaml"
    threads: 1
    resources:
        mem_mb=1500,
        runtime=10,
    params:
        env=config["collapse_figure"]["env"],
        variant=config["collapse_figure"]["variant"],
        variants=MAIN_VARIANTS,
        label=variant_labels()[config["collapse_figure"]["variant"]],
        window=config["collapse_figure"]["moving_window"],
        notebook_eval=config["collapse_figure"]["notebook_eval"],
    script:
        "../scripts/plot_one_step_collapse.py"


rule final_returns:
    input:
        final=f"{AGG}/final.csv",
    output:
        report(
            f"{FIGURES}/final_returns.png",
            caption="../report/final_returns.rst",
            category="Final returns",
            labels={"figure": "final return per seed"},
        ),
        f"{FIGURES}/final_returns.svg",
    log:
        f"{LOGS}/figures/final_returns.log",
    benchmark:
        f"{BENCHMARKS}/figures/final_returns.tsv"
    conda:
        "../envs/a2c-repro.yaml"
    threads: 1
    resources:
        mem_mb=1500,
        runtime=10,
    params:
        envs=MAIN_ENVS,
        variants=MAIN_VARIANTS,
        labels=variant_labels(),
        final_fraction=config["analysis"]["final_fraction"],
        jitter_seed=config["analysis"]["bootstrap"]["seed"],
    script:
        "../scripts/plot_final_returns.py"
