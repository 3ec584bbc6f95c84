"""a2c-repro: seed-batched one-step, episodic and n-step A2C faithful to the notebooks."""

from .config import A2CConfig, apply_overrides, default_config, parse_seeds
from .train import train

__all__ = ["A2CConfig", "apply_overrides", "default_config", "parse_seeds", "train"]
__version__ = "0.1.0"
