"""A run's record: the JSON file that says what was run (its identity and run key) and how
long it took. Both engines (train.py, notebook_engine.py) write it through ``write_record``."""

from __future__ import annotations

import json
from pathlib import Path

from .atomic_io import RunError, atomic_write_text
from .layout import default_record, seeds_spec
from .run_key import run_key

__all__ = ["write_record"]


def write_record(record: Path | None, run_dir_: Path, identity: dict, timing: dict) -> Path:
    """A run's record: its identity, run key and timing, atomically, at ``record`` or by
    default at ``timings/seeds-<spec>.json`` in the run's directory (layout.py)."""
    if record is None:
        record = default_record(run_dir_, seeds_spec(identity["seeds"]))
    record = Path(record)
    try:
        record.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunError(f"cannot create {record.parent}: {exc.strerror}") from None
    info = {"key": run_key(identity), "identity": identity, **timing}
    atomic_write_text(record, json.dumps(info, indent=2) + "\n")
    return record
