"""What determines a run's CSVs, and the short key that names it.

A group of seeds trained by one engine process is fully determined by its *identity*: the
engine version, the variant, the env, the seeds, the episode budget and every hyperparameter.
Its key (a hash of the identity) names the run's checkpoint, and the pipeline puts it in the
name of each training job's record file, so a job whose identity changes has a missing
output and reruns — from a fresh clone too, since no timestamps or local metadata are needed.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from .config import A2CConfig

# Bumped whenever an engine change alters any result bit (tests/test_committed_results.py
# fails until it is): every run key changes, so the pipeline retrains everything.
ENGINE_VERSION = "3"
# The notebook engine (`--implementation notebook`, the notebooks' own PyTorch code): bumped when its
# bookkeeping around the notebooks' code changes what it writes.
NOTEBOOK_ENGINE_VERSION = "1"


def run_identity(
    variant: str,
    env_id: str,
    seeds: list[int],
    episodes: int,
    cfg: A2CConfig,
    implementation: str = "fast",
) -> dict[str, Any]:
    """Everything a run's CSVs depend on, as plain JSON-able data. ``implementation`` is
    "fast" (this engine) or "notebook" (the notebooks' own code, ``--implementation notebook``)."""
    identity = {
        "engine_version": ENGINE_VERSION, "variant": variant, "env_id": env_id,
        "seeds": sorted(int(s) for s in seeds), "episodes": int(episodes),
        "config": cfg.as_dict(),
    }  # fmt: skip
    if implementation != "fast":
        identity.update(implementation=implementation, engine_version=NOTEBOOK_ENGINE_VERSION)
    return identity


def run_key(identity: dict[str, Any]) -> str:
    """16 hex digits of the SHA-256 of the identity's canonical JSON."""
    text = json.dumps(identity, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]
