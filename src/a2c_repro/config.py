"""Hyperparameters of the three engine variants, with the notebooks' settings as defaults.

One place for each fact: the engine's defaults are the notebooks' own choices, and every choice a
study may flip is a named option (``--set key=value`` on the CLI, a mapping in the pipeline).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from dataclasses import dataclass, fields
from typing import Any

VARIANTS = ("one_step", "episodic", "n_step")
EPISODIC_ACTOR_LOSSES = ("sum", "notebook_broadcast")
# Keys that only one variant reads; every other key applies to all of them.
VARIANT_ONLY_KEYS = {"actor_loss": "episodic", "n_envs": "n_step", "n_steps": "n_step"}
MAX_WIDTH = 65_536  # widest hidden layer accepted (the notebooks use 128)
MAX_PARAMS = 50_000_000  # parameters per network and seed
MAX_SEEDS = 100_000  # seeds in one engine process


class ConfigError(ValueError):
    """A bad hyperparameter or argument; the message names it and what was expected."""


@dataclass(frozen=True)
class A2CConfig:
    """Hyperparameters shared by every variant (defaults: the one-step notebook)."""

    gamma: float = 0.99
    actor_lr: float = 1e-3
    critic_lr: float = 1e-3
    actor_hidden: tuple[int, ...] = (128, 64)
    critic_hidden: tuple[int, ...] = (128, 64)
    adam_beta1: float = 0.9
    adam_beta2: float = 0.999
    adam_eps: float = 1e-8
    # Notebook: `terminated = terminated | truncated`, i.e. a time-limit cut is treated as a
    # true terminal state and V(s') is not bootstrapped. True masks only real terminations.
    bootstrap_on_truncation: bool = False
    entropy_coef: float = 0.0
    max_grad_norm: float = 0.0  # 0 = no clipping (the notebooks clip nothing)
    eval_interval: int = 50  # a sampled evaluation episode after episodes 0, 50, …; 0 = none
    # episodic only: "sum" is −Σ_t G_t·log π_t (the notebook's evident intent),
    # "notebook_broadcast" the notebook's literal code (docs/engine.md explains the difference)
    actor_loss: str = "sum"
    # n_step only: k parallel envs per seed, n-step returns (rl-baselines3-zoo CartPole: 8 × 5)
    n_envs: int = 8
    n_steps: int = 5

    def replace(self, **changes: Any) -> A2CConfig:
        return dataclasses.replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["actor_hidden"] = list(self.actor_hidden)
        d["critic_hidden"] = list(self.critic_hidden)
        return d


def default_config(variant: str) -> A2CConfig:
    """The notebook's settings for ``variant``."""
    if variant == "one_step":
        return A2CConfig()
    if variant == "episodic":
        # episodic_a2c_lunarlander: hidden 128-128 for both nets, LR 1e-3, GAMA 0.97.
        # The notebook runs no evaluation; we keep the same sampled evaluation as one_step so
        # the two variants can be compared on the same footing (it never touches learning).
        return A2CConfig(gamma=0.97, actor_hidden=(128, 128), critic_hidden=(128, 128))
    if variant == "n_step":
        # Same networks and optimiser as the one-step notebook: only the data flow differs
        # (k envs × n steps per update, n-step bootstrapped returns, mean losses).
        return A2CConfig()
    raise ConfigError(
        f"--variant {variant}: unknown variant; expected one of {', '.join(VARIANTS)}"
    )


_FIELDS = {f.name: f for f in fields(A2CConfig)}


def keys_of(variant: str) -> list[str]:
    """The hyperparameters ``variant`` reads (a pipeline config must list each of them)."""
    return [k for k in _FIELDS if VARIANT_ONLY_KEYS.get(k, variant) == variant]


def _parse_value(key: str, raw: str, current: Any) -> Any:
    try:
        if isinstance(current, bool):
            low = raw.strip().lower()
            if low in ("true", "1", "yes"):
                return True
            if low in ("false", "0", "no"):
                return False
            raise ValueError
        if isinstance(current, tuple):
            parts = [p for p in raw.replace("x", ",").split(",") if p.strip()]
            return tuple(_width(key, raw, p) for p in parts)
        if isinstance(current, int):
            return int(raw)
        if isinstance(current, float):
            return float(raw)
        return raw.strip()
    except ConfigError:
        raise
    except ValueError:
        kind = {
            bool: "true/false",
            tuple: "comma-separated ints like 128,64",
            int: "an integer",
            float: "a number",
        }[type(current) if not isinstance(current, tuple) else tuple]
        raise ConfigError(f"--set {key}={raw}: expected {kind}") from None


def _width(key: str, raw: Any, part: Any) -> int:
    """One hidden-layer width, bounded before anything is allocated."""
    try:
        w = int(part)
    except (TypeError, ValueError):
        raise ConfigError(f"--set {key}={raw}: expected comma-separated ints like 128,64") from None
    if not 0 < w <= MAX_WIDTH:
        raise ConfigError(f"--set {key}={raw}: layer width {w} is outside 1..{MAX_WIDTH}")
    return w


def apply_overrides(cfg: A2CConfig, pairs: list[str] | dict[str, Any]) -> A2CConfig:
    """Apply ``key=value`` strings (CLI) or a mapping (pipeline) and validate the result."""
    items: list[tuple[str, Any]] = []
    if isinstance(pairs, dict):
        items = list(pairs.items())
    else:
        for p in pairs:
            if "=" not in p:
                raise ConfigError(f"--set {p}: expected key=value")
            k, v = p.split("=", 1)
            items.append((k.strip(), v))
    changes: dict[str, Any] = {}
    for k, v in items:
        if k not in _FIELDS:
            raise ConfigError(
                f"--set {k}: unknown key; expected one of {', '.join(sorted(_FIELDS))}"
            )
        cur = getattr(cfg, k)
        if isinstance(v, str):
            val = _parse_value(k, v, cur)
        elif isinstance(cur, tuple) and isinstance(v, (list, tuple)):
            val = tuple(_width(k, v, x) for x in v)
        elif isinstance(cur, bool):
            if not isinstance(v, bool):
                raise ConfigError(f"--set {k}={v!r}: expected true/false")
            val = v
        elif isinstance(cur, float) and isinstance(v, (int, float)) and not isinstance(v, bool):
            val = float(v)
        elif isinstance(cur, int) and not isinstance(v, int) or isinstance(v, bool) != isinstance(
            cur, bool
        ):
            kind = "an integer" if isinstance(cur, int) else type(cur).__name__
            raise ConfigError(f"--set {k}={v!r}: expected {kind}")
        else:
            val = v
        changes[k] = val
    out = cfg.replace(**changes)
    validate(out)
    return out


def validate(cfg: A2CConfig) -> None:
    """Reject values no A2C run can use, naming the key and the expected range."""

    def bad(key: str, expected: str) -> ConfigError:
        return ConfigError(f"--set {key}={getattr(cfg, key)!r}: expected {expected}")

    for f in fields(cfg):
        v = getattr(cfg, f.name)
        if isinstance(v, float) and not math.isfinite(v):
            raise bad(f.name, "a finite number")

    if not 0.0 <= cfg.gamma <= 1.0:
        raise bad("gamma", "a discount in [0, 1]")
    for k in ("actor_lr", "critic_lr", "adam_eps"):
        if not getattr(cfg, k) > 0:
            raise bad(k, "a number > 0")
    for k in ("adam_beta1", "adam_beta2"):
        if not 0.0 <= getattr(cfg, k) < 1.0:
            raise bad(k, "a number in [0, 1)")
    for k in ("actor_hidden", "critic_hidden"):
        v = getattr(cfg, k)
        if len(v) == 0 or any(not 0 < h <= MAX_WIDTH for h in v):
            raise bad(k, f"one or more layer widths in 1..{MAX_WIDTH}, e.g. 128,64")
        sizes = (1024, *v, 1024)  # generous in/out sizes: the bound is about the hidden part
        if sum(a * b + b for a, b in itertools.pairwise(sizes)) > MAX_PARAMS:
            raise bad(k, f"a network of at most {MAX_PARAMS:,} parameters")
    if cfg.entropy_coef < 0:
        raise bad("entropy_coef", "a number >= 0")
    if cfg.max_grad_norm < 0:
        raise bad("max_grad_norm", "a number >= 0 (0 = no clipping)")
    if cfg.eval_interval < 0:
        raise bad("eval_interval", "an integer >= 0 (0 = no evaluation)")
    if cfg.actor_loss not in EPISODIC_ACTOR_LOSSES:
        raise bad("actor_loss", f"one of {', '.join(EPISODIC_ACTOR_LOSSES)}")
    for k in ("n_envs", "n_steps"):
        if getattr(cfg, k) < 1:
            raise bad(k, "an integer >= 1")


def parse_seeds(spec: str) -> list[int]:
    """``"0-9"``, ``"3"``, ``"0,2,5"``, ``"0-4,10-14"`` → sorted unique seeds (at most
    MAX_SEEDS, counted before any list is built)."""
    if not spec or not spec.strip():
        raise ConfigError("--seeds '': expected a seed range like 0-9 or 0,2,5")
    ranges: list[tuple[int, int]] = []
    for part in spec.split(","):
        part = part.strip()
        a, dash, b = part.partition("-")
        if not (a.isdigit() and (b.isdigit() if dash else not b)):
            raise ConfigError(
                f"--seeds {spec}: malformed part {part!r}; expected non-negative integers "
                "like 0-9 or 0,2,5"
            )
        lo, hi = int(a), int(b) if dash else int(a)
        if lo > hi:
            raise ConfigError(f"--seeds {spec}: range {part} is empty (start > end)")
        if hi >= 2**63:
            raise ConfigError(f"--seeds {spec}: seed {hi} is too large (at most 2^63 - 1)")
        ranges.append((lo, hi))
    if sum(hi - lo + 1 for lo, hi in ranges) > MAX_SEEDS:
        raise ConfigError(f"--seeds {spec}: more than {MAX_SEEDS} seeds in one run")
    return sorted({s for lo, hi in ranges for s in range(lo, hi + 1)})


__all__ = [
    "VARIANTS",
    "A2CConfig",
    "ConfigError",
    "apply_overrides",
    "default_config",
    "keys_of",
    "parse_seeds",
    "validate",
]
