# a2c-repro: one command regenerates every training CSV, aggregate and figure.
#   snakemake --cores 2                 # the default experiment (config/config.yaml)
#   snakemake --report report.html      # HTML report with captioned figures
from snakemake.utils import min_version

min_version("8.0")


# A --configfile on the command line REPLACES the default config instead of being
# merged into it (a merge would keep, e.g., the default's envs in the tiny config).
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/fidelity_plan.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/aggregate.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/collapse_study.smk"
include: "workflow/rules/fidelity.smk"
include: "workflow/rules/provenance.smk"


onstart:
    register_owner()


onsuccess:
    unregister_owner()


onerror:
    unregister_owner()


rule all:
    default_target: True
    input:
        rules.aggregate.output,
        expand(
            f"{FIGURES}/learning_curves_{{env}}{{suffix}}.{{ext}}",
            env=MAIN_ENVS,
            suffix=["", "_env_steps"],
            ext=["png", "svg"],
        ),
        rules.one_step_collapse.output,
        rules.final_returns.output,
        rules.provenance.output,
        # Every training output, the records included: Snakemake regenerates a missing file
        # only if a job that needs it runs, or if a target asks for it. Listing them here
        # makes a deleted CSV, or a record whose run key changed, rerun its training job
        # (and, through it, everything downstream).
        TRAIN_OUTPUTS,
        FIDELITY_TRAIN_OUTPUTS,
