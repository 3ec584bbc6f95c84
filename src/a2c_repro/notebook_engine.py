"""The notebooks' own code as an engine: ``a2c-repro train --implementation notebook``.

Runs ``reference.py``'s literal training loops (the one-step notebook, and the episodic
notebook with its broadcast actor loss) one seed after another in one process, and writes the
same per-episode CSVs as the fast engine, in the same layout (``OUT/<env>/<variant>/seed<k>.csv``).
Columns the notebooks' code does not compute (entropy, advantages, values, gradient norms,
top-probability share) are left empty.

It is the yardstick, not a second fast engine: PyTorch's CPU kernels compute its bits, which
may differ between CPUs and PyTorch builds. On one machine and one PyTorch build the same seed
gives the same CSV; across machines only the distributions are comparable.

Seeding: seed k's streams come from ``numpy.random.SeedSequence([k, NOTEBOOK_STREAM])``, whose
children seed torch (initial weights and every sampled action), the training env and (one-step)
the evaluation env. They are independent of the fast engine's streams for the same k, so
engine and notebook runs of one seed number are independent samples, not paired ones.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from .atomic_io import atomic_write_text
from .config import A2CConfig, ConfigError, apply_overrides, default_config
from .layout import run_dir
from .records import write_record
from .run_key import run_identity
from .seed_run import COLUMNS, diverged

NOTEBOOK_STREAM = 0x6E62  # any constant: it separates these streams from the fast engine's

# What the notebooks' code does, as the fast engine's hyperparameters. The episodic notebook
# evaluates nothing and its actor loss is the (T,) x (T,1) broadcast.
NOTEBOOK_CONFIGS = {
    "one_step": default_config("one_step"),
    "episodic": default_config("episodic").replace(
        actor_loss="notebook_broadcast", eval_interval=0
    ),
}
ENGINE_VARIANTS = tuple(NOTEBOOK_CONFIGS)  # the variants the notebooks' code exists for
# Hyperparameters the notebooks' code takes as arguments; every other one is fixed in it.
HONOURED = {"one_step": ("gamma", "max_grad_norm"), "episodic": ("gamma",)}


def notebook_config(variant: str, overrides: list[str] | dict) -> A2CConfig:
    """The notebook's hyperparameters with ``overrides`` applied; an override the notebook's
    code cannot honour (a value other than the notebook's) raises ConfigError."""
    if variant not in ENGINE_VARIANTS:
        raise ConfigError(
            f"--variant {variant}: the notebook engine runs {', '.join(ENGINE_VARIANTS)}"
        )
    base = NOTEBOOK_CONFIGS[variant]
    cfg = apply_overrides(base, overrides)
    for key, value in cfg.as_dict().items():
        if key not in HONOURED[variant] and value != base.as_dict()[key]:
            raise ConfigError(
                f"--set {key}={_spell(value)}: the {variant} notebook's code fixes {key}="
                f"{_spell(base.as_dict()[key])} (with --implementation notebook only "
                f"{', '.join(HONOURED[variant])} can change)"
            )
    return cfg


def _spell(value) -> str:
    """A value as --set would spell it."""
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def notebook_seeds(seed: int) -> tuple[int, int, int]:
    """(torch seed, training env seed, evaluation env seed) of seed ``seed``."""
    children = np.random.SeedSequence([seed, NOTEBOOK_STREAM]).spawn(3)
    return tuple(int(c.generate_state(1, np.uint32)[0]) for c in children)


def episodes_of(variant: str, env_id: str, episodes: int, cfg: A2CConfig, seeds: tuple):
    """The notebook loop's per-episode records for one seed's (torch, env, eval env) seeds."""
    from . import reference  # imports torch: not needed to check a config

    torch_seed, env_seed, eval_seed = seeds
    if variant == "one_step":
        return reference.one_step_notebook_episodes(
            env_id, episodes, torch_seed, env_seed, eval_seed, cfg.gamma, cfg.max_grad_norm
        )
    return reference.episodic_notebook_episodes(env_id, episodes, torch_seed, env_seed, cfg.gamma)


def _fmt(x: float) -> str:
    return format(float(x), ".9g")


def csv_text(variant: str, env_id: str, seed: int, records) -> str:
    """The fast engine's CSV schema (seed_run.COLUMNS); what the notebook lacks is empty."""
    lines = [",".join(COLUMNS)]
    env_steps = 0
    for episode, e in enumerate(records):
        env_steps += e.length
        row = dict.fromkeys(COLUMNS, "")
        row.update(
            variant=variant, env_id=env_id, seed=str(seed), episode=str(episode),
            length=str(e.length), env_steps=str(env_steps), actor_loss=_fmt(e.actor_loss),
            critic_loss=_fmt(e.critic_loss), majority_action_frac=_fmt(e.majority_action_frac),
        )  # fmt: skip
        row["return"] = repr(float(e.ret))
        if e.eval_return is not None:
            row["eval_return"] = repr(float(e.eval_return))
        row["diverged"] = "1" if diverged(e.actor_loss, e.critic_loss) else "0"
        lines.append(",".join(row[c] for c in COLUMNS))
    return "\n".join(lines) + "\n"


def train_notebook(
    variant, env_id, seeds, episodes, cfg, out_dir, progress=False, record=None
) -> list[Path]:
    """``train.train`` (the same arguments, without checkpoints) with the notebook's code:
    run it for each seed in turn; write each seed's CSV when it finishes (atomically), then
    the group's record (identity, run key, timing; by default ``timings/seeds-<spec>.json``
    beside the CSVs). Returns the CSV paths."""
    if not seeds:
        raise ConfigError("--seeds: expected at least one seed")
    if episodes <= 0:
        raise ConfigError(f"--episodes {episodes}: expected an integer > 0")
    import torch

    torch.set_num_threads(1)
    d = run_dir(Path(out_dir), env_id)
    d.mkdir(parents=True, exist_ok=True)
    paths, per_seed = [], {}
    wall0, cpu0 = time.perf_counter(), time.process_time()
    steps = 0
    for seed in seeds:
        c0 = time.process_time()
        records = list(episodes_of(variant, env_id, episodes, cfg, notebook_seeds(seed)))
        path = d / f"seed{seed}.csv"
        atomic_write_text(path, csv_text(variant, env_id, seed, records))
        paths.append(path)
        n = sum(e.length for e in records)
        steps += n
        per_seed[str(seed)] = {"cpu_seconds": round(time.process_time() - c0, 3), "steps": n}
        if progress:
            print(
                f"notebook {variant} {env_id} seed {seed}: {n} steps, "
                f"{per_seed[str(seed)]['cpu_seconds']:.1f} CPU s",
                file=sys.stderr,
                flush=True,
            )
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    timing = {
        "engine": "notebook", "variant": variant, "env_id": env_id, "seeds": list(seeds),
        "episodes": episodes, "wall_seconds": round(wall, 3), "cpu_seconds": round(cpu, 3),
        "agent_steps_this_process": steps,
        "agent_steps_per_second": round(steps / max(wall, 1e-9), 1),
        "per_seed": per_seed, "torch_threads": torch.get_num_threads(),
        "torch_version": torch.__version__,
    }  # fmt: skip
    identity = run_identity(variant, env_id, seeds, episodes, cfg, implementation="notebook")
    write_record(record, d, identity, timing)
    return paths
