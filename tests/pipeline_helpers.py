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
# The tiny experiment the tests and CI run: an overlay on the default config, given after it
# (`snakemake --configfile config/config.yaml .test/config/config.yaml`).
TINY_OVERLAY = ".test/config/config.yaml"
TINY = ("config/config.yaml", TINY_OVERLAY)


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


def merged_config(root: Path, configfiles: tuple[str, ...] = TINY) -> dict:
    """The config the workflow sees for ``--configfile configfiles`` in ``root``: the files
    merged in order by Snakemake's own merge, with `experiment.only_envs` applied (and then
    dropped) as workflow/rules/common.smk applies it: one config file's worth."""
    import yaml
    from snakemake.utils import update_config

    cfg: dict = {}
    for name in configfiles:
        update_config(cfg, yaml.safe_load((root / name).read_text()))
    exp = cfg["experiment"]
    if "only_envs" in exp:
        only = exp.pop("only_envs")
        exp["envs"] = {e: s for e, s in exp["envs"].items() if e in only}
    return cfg


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
