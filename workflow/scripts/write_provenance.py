"""results/provenance.json: Python and package versions, platform, torch build
configuration, git commit (or $A2C_REPRO_GIT_COMMIT inside Docker), config sha256."""


import datetime
import hashlib
import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from deterministic_io import log_to, write_json

# Files a run rewrites with its own timings (and this record, which Snakemake deletes
# before the job runs): a change to them says nothing about the code that made the results.
TIMING_FILES = ("results/benchmarks", "results/logs", "*/records/*.json", "provenance*.json")


def git_commit(own_output: str) -> dict:
    """HEAD and `tracked_changes`: whether any tracked source, config or result differs
    from it, not counting timing files (benchmarks, logs, run records) or this record."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", ".",
             f":(exclude){own_output}",
             *(f":(exclude,glob)**/{pattern}" for pattern in TIMING_FILES)],
            capture_output=True, text=True, check=True,
        ).stdout.strip()
        return {"commit": head, "source": "git rev-parse HEAD", "tracked_changes": bool(dirty)}
    except (OSError, subprocess.CalledProcessError):
        commit = os.environ.get("A2C_REPRO_GIT_COMMIT", "unknown")
        return {"commit": commit, "source": "A2C_REPRO_GIT_COMMIT", "tracked_changes": None}


def engine_source_sha256() -> str | None:
    """sha256 over the imported engine package's .py files (name + bytes): identifies the
    exact engine code even when it differs from the git commit (e.g. an uncommitted edit)."""
    try:
        import a2c_repro
    except ImportError:
        return None
    root = Path(a2c_repro.__file__).parent
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def package_versions(names: list[str]) -> dict:
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def main(snakemake) -> None:
    log = log_to(snakemake.log[0])
    import torch

    data = {
        "generated_utc": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "python_implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "packages": package_versions(list(snakemake.params.packages)),
        "torch_config": torch.__config__.show(),
        "torch_num_threads_default": torch.get_num_threads(),
        "git": git_commit(snakemake.output[0]),
        "engine_source_sha256": engine_source_sha256(),
        "config_sha256": snakemake.params.config_sha256,
    }
    write_json(data, snakemake.output[0])
    log.info("wrote %s", snakemake.output[0])


if __name__ == "__main__" and "snakemake" in globals():
    main(snakemake)  # noqa: F821
