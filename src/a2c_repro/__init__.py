"""a2c-repro: seed-batched one-step, episodic and n-step A2C faithful to the notebooks."""

from .config import A2CConfig, apply_overrides, default_config, parse_seeds

__all__ = ["A2CConfig", "apply_overrides", "default_config", "parse_seeds", "train"]
__version__ = "0.1.0"


def __getattr__(name: str):
    # The engine (numba, gymnasium) loads on first use, not on `import a2c_repro`: the
    # workflow's planner and config checks import the package and must stay light.
    if name == "train":
        from .train import train

        # Importing the submodule bound `a2c_repro.train` to it: rebind to the function.
        globals()["train"] = train
        return train
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
