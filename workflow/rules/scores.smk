# results/scores/<experiment>.{npz,csv} (analysis scores): every run's final return in the
# shapes rliable's aggregate functions take (arm -> runs x tasks), and as a tidy table.

for exp in PLAN.experiments.values():
    if "scores" not in exp.analyses:
        continue

    rule:
        name:
            f"export_scores_{exp.name}"
        input:
            csvs=exp.csvs(),
            records=PLAN.records(exp.csvs()),
        output:
            npz=f"{exp.results_dir}/scores/{exp.name}.npz",
            csv=f"{exp.results_dir}/scores/{exp.name}.csv",
        log:
            f"{exp.results_dir}/logs/scores_{exp.name}.log",
        conda:
            "../envs/a2c-repro.yaml"
        threads: 1
        resources:
            mem_mb=1500,
            runtime=10,
        params:
            arm_env_of_csv=exp.path_labels(),
            envs=list(exp.envs),
            final_fraction=config["analysis"]["final_fraction"],
        script:
            "../scripts/export_scores.py"
