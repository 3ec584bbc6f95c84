"""Numbers in the docs that are not tables of results: each is rendered here from what it
describes (the config as the workflow plans it, the committed benchmarks, core_hours.py's
output) and must appear in its document exactly, so no such number is typed by hand.

After a change to the config or the benchmarks, `python tests/test_doc_numbers.py` prints
what the documents must say.
"""

from __future__ import annotations

import re
import subprocess
import sys
from functools import cache

import pytest
import yaml
from readme_tables import ROOT
from snakemake.utils import update_config

from a2c_repro.experiments import load_and_plan, summary

SCHEMA = ROOT / "workflow/schemas/config.schema.yaml"
CORE_HOURS = ROOT / "workflow/profiles/slurm/core_hours.py"
# Each core_hours.py call quoted in docs/cluster.md (its arguments).
CORE_HOURS_CALLS = [(), ("--run", "main", "collapse_study", "fidelity")]
# The cores of the dry run quoted in docs/pipeline.md (`snakemake --cores 8 --forceall -n`).
PLAN_CORES = 8
# Documents a reader sees (README's and docs' prose and tables).
PROSE = ["README.md", "config/README.md", *sorted(p.relative_to(ROOT).as_posix()
                                                  for p in (ROOT / "docs").glob("*.md"))]  # fmt: skip
NUMBER_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
                "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen",
                "seventeen", "eighteen", "nineteen", "twenty"]  # fmt: skip
WORDS = {w: i for i, w in enumerate(NUMBER_WORDS)}


def _config(*overlays: str, **override) -> dict:
    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    for path in overlays:
        update_config(config, yaml.safe_load((ROOT / path).read_text()))
    return {**config, **override}


@cache
def committed_plan():
    return load_and_plan(_config(), SCHEMA)


def _one(values, what: str):
    """The single value of ``values`` (the docs state one number for all of them)."""
    values = set(values)
    assert len(values) == 1, f"{what}: {sorted(values)}, the docs state one"
    return values.pop()


def study_counts() -> dict:
    study = committed_plan().experiments["collapse_study"]
    reference = study.analyses["collapse"]["reference_arm"]
    others = [a for name, a in study.arms.items() if name != reference]
    other_seeds = {len(a.seeds) for a in others}
    assert len(other_seeds) == 1, "the docs say every other arm has the same seeds"
    return {
        "reference": reference,
        "arms": len(study.arms),
        "changes": len(others),
        "reference_seeds": len(study.arms[reference].seeds),
        "other_seeds": other_seeds.pop(),
    }


def facts() -> dict[str, list[str]]:
    """{document: [text it must contain]}."""
    plan = committed_plan()
    main = plan.experiments["main"]
    seeds = {len(a.seeds) for a in main.arms.values()}
    assert len(seeds) == 1
    s = study_counts()
    plan_lines = summary(plan, [j.name for j in plan.jobs], PLAN_CORES, ROOT)
    sweep = load_and_plan(_config(run=["sweep_main", "sweep_collapse"]), SCHEMA)
    sweep_seeds = _one(
        (len(a.seeds) for e in sweep.experiments.values() for a in e.arms.values()), "sweep seeds"
    )
    tiny = load_and_plan(_config(".test/config/config.yaml"), SCHEMA)
    tiny_arms = [a for e in tiny.experiments.values() for a in e.arms.values()]
    tiny_seeds = _one((len(a.seeds) for a in tiny_arms), "tiny seeds")
    tiny_episodes = _one(
        (env["episodes"] for e in tiny.experiments.values() for env in e.envs.values()),
        "tiny episodes",
    )
    profile = yaml.safe_load((ROOT / "workflow/profiles/slurm/config.yaml").read_text())
    return {
        "README.md": [
            f"`main` ({len(main.envs)} envs × {len(main.arms)} arms × {seeds.pop()} seeds)",
            (
                f"`collapse_study` (one-step A2C on CartPole, {s['arms']} arms, "
                f"{s['other_seeds']}–{s['reference_seeds']} seeds)"
            ),
        ],
        "docs/collapse-study.md": [
            (
                f"{s['arms']} arms: the reference arm `{s['reference']}` "
                f"({s['reference_seeds']} seeds) and {s['changes']} changes to it "
                f"({s['other_seeds']} seeds each)"
            ),
        ],
        "docs/pipeline.md": [
            "\n".join(plan_lines),
            f"`main` and `collapse_study` with {sweep_seeds} seeds of every arm",
        ],
        "docs/cluster.md": [
            f"each with {sweep_seeds} seeds of every arm",
            f"up to {profile['jobs']} jobs queued at once",
        ],
        "config/README.md": [f"({tiny_seeds} seeds, {tiny_episodes} episodes, fewer envs and arms"],
    }


def test_docs_state_what_the_config_plans():
    missing = [
        (doc, text) for doc, texts in facts().items() for text in texts
        if text not in (ROOT / doc).read_text()
    ]  # fmt: skip
    assert not missing, "docs lack (or misquote):\n" + "\n".join(f"{d}: {t}" for d, t in missing)


def _count(token: str) -> int:
    return int(token) if token.isdigit() else WORDS[token.lower()]


@pytest.mark.parametrize("doc", PROSE)
def test_the_collapse_study_is_counted_from_the_config(doc):
    """'N changes' and 'N comparisons' (to the notebook's settings) are the study's arms
    besides the reference arm, wherever a document says it."""
    s = study_counts()
    number = r"\b(\d+|" + "|".join(WORDS) + r")"
    said = re.findall(number + r" (?:named )?(?:changes|comparisons)\b",
                      (ROOT / doc).read_text(), flags=re.IGNORECASE)  # fmt: skip
    wrong = [n for n in said if _count(n) != s["changes"]]
    assert not wrong, (
        f"{doc} counts {wrong} changes to the notebook; the collapse study has "
        f"{s['changes']} (plus the reference arm)"
    )


@pytest.mark.parametrize("args", CORE_HOURS_CALLS, ids=lambda a: " ".join(a) or "sweep")
def test_cluster_md_quotes_core_hours(args):
    out = subprocess.run(
        [sys.executable, str(CORE_HOURS), *args],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    command = " ".join(["python workflow/profiles/slurm/core_hours.py", *args])
    text = (ROOT / "docs/cluster.md").read_text()
    assert command + "\n```\n\n```\n" + out.stdout in text, (
        f"docs/cluster.md must quote `{command}` as it prints:\n{out.stdout}"
    )


if __name__ == "__main__":
    for doc, texts in facts().items():
        print(f"\n<!-- {doc} -->")
        print("\n\n".join(texts))
