# The fidelity experiment (analysis fidelity): each comparison names two arms that differ
# only in their implementation (the fast engine and the notebooks' own code); every measure
# is tested for a difference and for equivalence within the margin the config states.

# The side names in results/fidelity.csv and the figure.
FIDELITY_SIDE = {"fast": "engine", "notebook": "notebook"}

for exp in PLAN.experiments.values():
    if "fidelity" not in exp.analyses:
        continue
    R, F, AGG = exp.results_dir, exp.figures_dir, f"{exp.results_dir}/aggregated"
    FID = exp.analyses["fidelity"]
    SIDE_OF_PATH = {
        csv: [name, FIDELITY_SIDE[impl]]
        for name, comp in FID["comparisons"].items()
        for impl in FIDELITY_SIDE
        for csv in exp.arms[comp[impl]].csvs[comp["env"]].values()
    }

    rule:
        name:
            f"fidelity_table_{exp.name}"
        input:
            csvs=list(SIDE_OF_PATH),
            records=PLAN.records(SIDE_OF_PATH),
        output:
            table=report(
                f"{R}/fidelity.csv",
                caption="../report/fidelity.rst",
                category="Fidelity: engine vs notebook code",
                labels={"table": "fidelity"},
            ),
            runs=f"{AGG}/fidelity_runs.csv",
        log:
            f"{R}/logs/fidelity.log",
        benchmark:
            f"{R}/benchmarks/fidelity.tsv"
        conda:
            "../envs/a2c-repro.yaml"
        threads: 1
        resources:
            mem_mb=2000,
            runtime=20,
        params:
            facts=exp.facts(),
            side_of_path=SIDE_OF_PATH,
            fidelity=FID,
        script:
            "../scripts/fidelity.py"

    rule:
        name:
            f"fidelity_figure_{exp.name}"
        input:
            runs=f"{AGG}/fidelity_runs.csv",
            table=f"{R}/fidelity.csv",
        output:
            report(
                f"{F}/fidelity.png",
                caption="../report/fidelity.rst",
                category="Fidelity: engine vs notebook code",
                labels={"figure": "fidelity ECDFs"},
            ),
            f"{F}/fidelity.svg",
        log:
            f"{R}/logs/figures/fidelity.log",
        benchmark:
            f"{R}/benchmarks/figures/fidelity.tsv"
        conda:
            "../envs/a2c-repro.yaml"
        threads: 1
        resources:
            mem_mb=1500,
            runtime=10,
        params:
            facts=exp.facts(),
            labels={n: c.get("label", n) for n, c in FID["comparisons"].items()},
            eval_episodes={
                n: c.get("eval_episode") for n, c in FID["comparisons"].items()
            },
            peak_window=FID["peak_window"],
            final_window=FID["final_window"],
        script:
            "../scripts/plot_fidelity.py"
