"""Helpers for the pipeline tests: a throw-away copy of the workflow and a runner."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WORKFLOW_FILES = ["Snakefile", "workflow", "profiles", "config", ".test/config"]
# The tiny configuration the tests and CI run: an overlay merged onto config/config.yaml
# (the Snakefile always loads that first): `snakemake --configfile .test/config/config.yaml`.
TINY_OVERLAY = ".test/config/config.yaml"
TINY = (TINY_OVERLAY,)
SCHEMA = "workflow/schemas/config.schema.yaml"


def copy_workflow(dest: Path) -> Path:
    """Copy the workflow (not its results) into `dest`, so tests never touch the tree."""
    for name in WORKFLOW_FILES:
        src = REPO / name
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, target)
        else:
            shutil.copy2(src, target)
    return dest


def merged_config(root: Path = REPO, configfiles: tuple[str, ...] = TINY) -> dict:
    """The config the workflow sees for ``--configfile configfiles`` in ``root``:
    config/config.yaml, then each file merged on top by Snakemake's own merge."""
    import yaml
    from snakemake.utils import update_config

    cfg: dict = yaml.safe_load((root / "config/config.yaml").read_text())
    for name in configfiles:
        update_config(cfg, yaml.safe_load((root / name).read_text()))
    return cfg


def planned(root: Path = REPO, configfiles: tuple[str, ...] = TINY):
    """The workflow's plan (a2c_repro.experiments.Plan) of that merged config."""
    from a2c_repro.experiments import load_and_plan

    return load_and_plan(merged_config(root, configfiles), root / SCHEMA)


def snakemake(
    workdir: Path, *args: str, env: dict | None = None, new_session: bool = False
) -> subprocess.CompletedProcess:
    """Run Snakemake of this interpreter's environment (where `a2c-repro` is installed)."""
    env = dict(os.environ if env is None else env)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    return subprocess.run(
        [sys.executable, "-m", "snakemake", *args],
        cwd=workdir,
        env=env,
        check=False,
        capture_output=True,
        text=True,
        start_new_session=new_session,
    )


def digests(root: Path, suffixes: tuple[str, ...]) -> dict[str, str]:
    """sha256 of every file below `root` with one of `suffixes`, by relative path."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.suffix in suffixes
    }
