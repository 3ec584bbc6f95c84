# Training: one rule per (variant, env, seed group). A job trains its seed group in
# one engine process; a seed's CSV is byte-identical whatever group trains it, so the
# grouping (`seeds_per_job`) only trades job count against job length.
# Rules are generated from the job table because a job's outputs (its seeds' CSVs)
# are a list that depends on the group, which a wildcard pattern cannot express.


for job in TRAIN_JOBS:

    rule:
        name:
            job["name"]
        output:
            csvs=job["csvs"],
            timing=job["timing"],
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
            engine=job["engine"],
            env=job["env"],
            seeds=job["spec"],
            episodes=job["episodes"],
            hyperparameters=job["set_args"],
            out=engine_out_dir,
        shell:
            "a2c-repro train --variant {params.engine} --env {params.env}"
            " --seeds {params.seeds} --episodes {params.episodes}"
            " --out {params.out} {params.hyperparameters} 2> {log}"
