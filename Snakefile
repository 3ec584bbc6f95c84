# a2c-repro: `snakemake --cores 8` builds every committed result of every experiment in
# config/config.yaml (`run:`); `snakemake <experiment>` builds one (main, collapse_study,
# fidelity). `snakemake --report report.html` writes the HTML report with captioned figures.
from snakemake.utils import min_version

min_version("8.0")


# A --configfile of the user's is merged onto this one: it adds or overrides entries.
configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/main.smk"
include: "workflow/rules/collapse_study.smk"
include: "workflow/rules/fidelity.smk"
include: "workflow/rules/scores.smk"
include: "workflow/rules/provenance.smk"


onstart:
    checkout.register_owner()


onsuccess:
    checkout.unregister_owner()


onerror:
    checkout.unregister_owner()


# One target per experiment (`snakemake main`, ...), and all of them by default.
for name in PLAN.experiments:

    rule:
        name:
            name
        input:
            targets(PLAN, name),


rule all:
    default_target: True
    input:
        [targets(PLAN, name) for name in PLAN.experiments],
