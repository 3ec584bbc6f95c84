"""Atomic file output: write a temp file beside the target and rename it, so a reader never
sees half a file; a fault while writing becomes one ``RunError`` line naming the path, and the
temp files a killed process left behind are found by their owner's pid and removed."""

from __future__ import annotations

import os
import re
import socket
from pathlib import Path

__all__ = [
    "RunError",
    "atomic_write_bytes",
    "atomic_write_text",
    "remove_stale_temp_files",
    "tmp_name",
]

_HOST = re.sub(r"[^A-Za-z0-9_-]", "_", socket.gethostname()) or "host"


class RunError(RuntimeError):
    """A fault outside the arguments (unwritable output, full disk): one line naming the path."""


def tmp_name(path: Path) -> Path:
    """The temp file this process writes ``path`` through (its host and pid in the name)."""
    return path.with_name(f".{path.name}.{_HOST}.{os.getpid()}.tmp")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write via a temp file in the same directory and rename, so no reader ever sees half.
    On any write error the temp file is removed and a one-line RunError names ``path``."""
    tmp = tmp_name(path)
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise RunError(f"cannot write {path}: {exc.strerror or exc}") from None


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode())


def remove_stale_temp_files(directory: Path) -> list[Path]:
    """Delete temp files that a killed process of this host left in ``directory`` (its pid
    is gone); a live process's temp files (another seed group writing beside us) are kept."""
    removed = []
    pat = re.compile(rf"^\..+\.{re.escape(_HOST)}\.(\d+)\.tmp$")
    for p in directory.glob(".*.tmp") if directory.is_dir() else []:
        m = pat.match(p.name)
        if m is None or pid_alive(int(m.group(1))):
            continue
        p.unlink(missing_ok=True)
        removed.append(p)
    return removed


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` of this host exists (one we may not signal counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
