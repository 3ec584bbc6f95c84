"""One list of the engine's variants (``config.VARIANTS``): the training loops, the CLI, the
benchmark and the pipeline's config schema agree with it; the driver is a ``Runner``; the
output layout (layout.py) is read back the way the pipeline reads it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from a2c_repro import bench, notebook_engine
from a2c_repro.config import EPISODIC_ACTOR_LOSSES, VARIANTS, ConfigError, default_config
from a2c_repro.layout import out_dir_of, seed_csv
from a2c_repro.runner import Runner
from a2c_repro.train import GroupTrainer, variant_loop

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("variant", VARIANTS)
def test_every_variant_has_defaults_and_a_training_loop(variant):
    assert callable(variant_loop(variant).run)
    assert variant_loop(variant).envs_per_seed(default_config(variant)) >= 1
    default_config(variant)


def test_an_unknown_variant_is_rejected_naming_the_known_ones():
    with pytest.raises(ConfigError, match="--variant two_step: expected one of one_step, "):
        variant_loop("two_step")


def test_the_pipeline_schema_lists_the_engine_variants_and_no_hyperparameter():
    """The JSON Schema cannot import Python: its variant enum is checked here. Hyperparameter
    names and ranges are the engine's alone (a2c_repro.config): the schema states none."""
    schema = yaml.safe_load((ROOT / "workflow/schemas/config.schema.yaml").read_text())
    arm = schema["$defs"]["arm"]
    assert arm["properties"]["variant"]["enum"] == list(VARIANTS)
    assert arm["properties"]["set"] == {"type": "object"}
    text = (ROOT / "workflow/schemas/config.schema.yaml").read_text()
    for key in ("actor_lr", "gamma", "entropy_coef", *EPISODIC_ACTOR_LOSSES):
        assert key not in text, key


def test_bench_compares_exactly_the_variants_the_notebook_engine_runs():
    assert set(notebook_engine.ENGINE_VARIANTS) <= set(VARIANTS)
    for table in (bench.CASES, bench.NOTEBOOK_PROTOCOL, bench.TARGETS):
        assert list(table) == list(notebook_engine.ENGINE_VARIANTS)


def test_the_driver_offers_the_runner_interface(tmp_path):
    tr = GroupTrainer("one_step", "CartPole-v1", [0], 1, default_config("one_step"), tmp_path,
                      progress=False)  # fmt: skip
    assert isinstance(tr, Runner)


def test_the_layout_names_the_out_dir_back():
    """The pipeline passes `--out` as the directory `layout.out_dir_of` finds in a CSV's path."""
    csv = seed_csv("results/runs/main/one_step", "CartPole-v1", 3)
    assert csv.as_posix() == "results/runs/main/one_step/CartPole-v1/seed3.csv"
    assert out_dir_of(csv).as_posix() == "results/runs/main/one_step"
