# Training: one rule per training job of the plan (an arm's seed group on one env, trained
# in one engine process by its implementation: the fast engine or the notebooks' code). A
# seed's CSV is byte-identical whatever group trains it, so the grouping (`seeds_per_job`)
# only trades job count against job length. The record's file name holds the run key: a
# changed key reruns the job, which first removes the records of the group's earlier keys.
# Rules are generated from the plan because a job's outputs (its seeds' CSVs) are a list
# that depends on the group, which a wildcard pattern cannot express.


for job in PLAN.jobs:

    rule:
        name:
            job.name
        output:
            csvs=list(job.csvs),
            record=job.record,
        log:
            job.log,
        benchmark:
            job.benchmark
        conda:
            "../envs/a2c-repro.yaml"
        threads: 1
        resources:
            mem_mb=job.mem_mb,
            runtime=job.runtime,
        params:
            implementation=job.implementation,
            variant=job.variant,
            env=job.env,
            seeds=job.spec,
            episodes=job.episodes,
            hyperparameters=job.set_args,
            out=engine_out_dir,
            stale_records=job.stale_records,
        shell:
            "rm -f {params.stale_records} && "
            "a2c-repro train --implementation {params.implementation} --variant {params.variant}"
            " --env {params.env} --seeds {params.seeds} --episodes {params.episodes}"
            " --out {params.out} --record {output.record} {params.hyperparameters} 2> {log}"
