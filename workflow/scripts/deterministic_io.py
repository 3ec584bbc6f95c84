"""Atomic, byte-reproducible writes of CSVs, JSON and figures, and script logging."""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
from pathlib import Path

import pandas as pd

CSV_FLOAT_FORMAT = "%.10g"


def _atomic_target(path: str | os.PathLike):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    return path, Path(tmp)


def write_csv(frame: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write `frame` without index, floats as %.10g, '\\n' line ends; temp + rename."""
    path, tmp = _atomic_target(path)
    try:
        frame.to_csv(tmp, index=False, float_format=CSV_FLOAT_FORMAT, lineterminator="\n")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_json(data, path: str | os.PathLike) -> None:
    path, tmp = _atomic_target(path)
    try:
        tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def setup_matplotlib():
    """Headless backend and the settings that make SVG output reproducible."""
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["svg.hashsalt"] = "a2c-repro"
    matplotlib.rcParams["svg.fonttype"] = "path"
    import seaborn as sns

    sns.set_theme(style="whitegrid", palette="colorblind", context="notebook")


# Metadata that would otherwise embed a date or the software version in the file.
_METADATA = {"png": {"Software": None}, "svg": {"Date": None, "Creator": None}}


def save_figure(fig, paths: list[str]) -> None:
    """Save `fig` once per path (format from the suffix: png/svg), atomically and
    without time stamps, so the same data gives the same bytes."""
    for p in paths:
        fmt = Path(p).suffix.lstrip(".")
        target, tmp = _atomic_target(p)
        try:
            fig.savefig(tmp, format=fmt, dpi=150, metadata=_METADATA[fmt], bbox_inches="tight")
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)


def log_to(log_path: str) -> logging.Logger:
    """Send this script's logging, warnings and uncaught errors to its log file."""
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(log_path, mode="w")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    logging.captureWarnings(True)
    stream = open(log_path, "a")  # noqa: SIM115 -- stays open: it becomes sys.stderr
    sys.stderr = stream
    return logging.getLogger("a2c-repro")


def save_and_close(fig, paths: list[str], log: logging.Logger) -> None:
    """save_figure, then free the figure and log what was written."""
    import matplotlib.pyplot as plt

    save_figure(fig, paths)
    plt.close(fig)
    log.info("wrote %s", ", ".join(paths))
