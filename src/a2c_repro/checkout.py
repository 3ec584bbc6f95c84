"""What the workflow does before it plans, so that a checkout behaves like the tree it came from.

Two problems of running Snakemake on a git checkout, solved here in plain Python (the
Snakefile calls these; tests call them directly):

- **Stale locks.** Snakemake's directory lock has no owner check: after a SIGKILL of
  Snakemake it stays, and every later run stops with LockException. Each run records its pid
  (``register_owner``); a lock whose recorded owners on this host have all died is removed.
- **File times.** Snakemake reruns a job whose input or script is newer than its output, and
  git keeps no file times: a checkout writes files in path order, so committed outputs look
  older or newer than their inputs by chance. Before the first run in a checkout (no
  ``.snakemake/`` yet) every committed output gets one time, a second after the newest
  checked-out source, leaving out sources edited since the checkout (an edited script still
  reruns its rule). Changes to what a run computes are found by run keys, not times.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from .atomic_io import pid_alive

OWNERS = Path(".snakemake/a2c-repro-owners")
SOURCES = ("Snakefile", "workflow", "config", "profiles")


def _owner_file() -> Path:
    return OWNERS / f"{socket.gethostname()}.{os.getpid()}"


def register_owner() -> None:
    OWNERS.mkdir(parents=True, exist_ok=True)
    _owner_file().touch()


def unregister_owner() -> None:
    _owner_file().unlink(missing_ok=True)


def remove_stale_locks() -> bool:
    """Remove Snakemake's locks if every recorded owner on this host has died."""
    locks = Path(".snakemake/locks")
    owners = list(OWNERS.glob("*")) if OWNERS.is_dir() else []
    if not (locks.is_dir() and any(locks.iterdir()) and owners):
        return False
    host = socket.gethostname()
    for owner in owners:
        owner_host, _, pid = owner.name.rpartition(".")
        if owner_host != host or not pid.isdigit() or pid_alive(int(pid)):
            return False  # a live (or unknown) owner: its lock stands
    for f in [*locks.iterdir(), *owners]:
        f.unlink(missing_ok=True)
    pids = ", ".join(o.name.rpartition(".")[2] for o in owners)
    print(f"Removed the lock of a Snakemake run that was killed (pid {pids}).", file=sys.stderr)
    return True


def _edited_sources() -> set[str]:
    """Files git reports as modified or new (none where there is no git, e.g. the image)."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "--modified", "--others", "--exclude-standard"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
    except OSError:
        return set()
    return set(out.stdout.split()) if out.returncode == 0 else set()


def equalize_checkout_times(dirs: list[str]) -> int:
    """Give every file under ``dirs`` one time after the newest checked-out source, on the
    first run in this checkout; returns how many files got it."""
    if Path(".snakemake").exists():
        return 0
    outputs = [p for d in dirs if Path(d).is_dir() for p in Path(d).rglob("*") if p.is_file()]
    if not outputs:
        return 0
    sources = [Path(SOURCES[0])] + [p for d in SOURCES[1:] for p in Path(d).rglob("*")]
    edited = _edited_sources()
    newest = max(
        p.stat().st_mtime_ns for p in outputs + sources if p.is_file() and str(p) not in edited
    )
    newest += 1_000_000_000  # Snakemake wants outputs strictly newer than their scripts
    for p in outputs:
        try:  # a file we may not touch (another user's read-only checkout) keeps its time
            os.utime(p, ns=(newest, newest))
        except PermissionError:
            pass
    print(
        f"First run in this checkout: gave the {len(outputs)} files under "
        f"{' and '.join(dirs)} the checkout's time (git keeps no file times).",
        file=sys.stderr,
    )
    return len(outputs)
