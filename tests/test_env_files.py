"""environment.yml, Dockerfile, .dockerignore, README and .ci/run against the lock.

Conda and Docker cannot both run in every test environment, so these check statically
what a user relies on: the conda route and the image install exactly requirements.lock,
the image is pinned and offline-buildable, and the README's commands are what CI runs.
(.ci/docker_build_test.sh really builds and runs the image; hadolint lints it in CI.)
"""

from __future__ import annotations

import re
import shlex
import tomllib
from pathlib import Path

import pytest
import yaml
from test_lock import parse_lock

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements.lock"


# ----------------------------------------------------------------------- conda
@pytest.fixture(scope="module")
def conda_env() -> dict:
    return yaml.safe_load((ROOT / "environment.yml").read_text())


def conda_pip_pins(conda_env: dict) -> dict[str, dict]:
    """What `conda env create` makes pip install: the pip: entries, -r files resolved
    relative to environment.yml as conda does."""
    pip_sections = [d["pip"] for d in conda_env["dependencies"] if isinstance(d, dict)]
    assert len(pip_sections) == 1, "environment.yml needs exactly one pip: section"
    pins: dict[str, dict] = {}
    for entry in pip_sections[0]:
        words = shlex.split(entry)
        if words[0] == "-r":
            pins.update(parse_lock(ROOT / words[1]))
        elif words[0].startswith("--"):
            assert words[0] in {"--extra-index-url", "--index-url", "--find-links"}, entry
        else:
            raise AssertionError(f"environment.yml installs {entry!r} outside the lock")
    return pins


def test_environment_yml_is_python_311_plus_pip_only(conda_env):
    conda_deps = [d for d in conda_env["dependencies"] if isinstance(d, str)]
    names = {re.split(r"[=<>!\s]", d, maxsplit=1)[0] for d in conda_deps}
    assert names == {"python", "pip"}, (
        f"conda packages besides python and pip would shadow the lock: {sorted(names - {'python', 'pip'})}"
    )
    assert "python=3.11" in conda_deps, f"python is not pinned to 3.11: {conda_deps}"


def test_environment_yml_pins_exactly_the_lock(conda_env):
    pins = conda_pip_pins(conda_env)
    lock = parse_lock(LOCK)
    assert {n: e["version"] for n, e in pins.items()} == {n: e["version"] for n, e in lock.items()}
    assert all(e["hashes"] for e in pins.values()), "pip would not run in hash-checking mode"


def test_environment_yml_reaches_the_cpu_torch_index(conda_env):
    pip_section = next(d["pip"] for d in conda_env["dependencies"] if isinstance(d, dict))
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in pip_section


# ---------------------------------------------------------------------- docker
@pytest.fixture(scope="module")
def dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text()


def instructions(dockerfile: str) -> list[str]:
    """Dockerfile instructions with continuation lines joined, comments dropped."""
    text = re.sub(
        r"\\\n",
        " ",
        "\n".join(line for line in dockerfile.splitlines() if not line.lstrip().startswith("#")),
    )
    return [line.strip() for line in text.splitlines() if line.strip()]


def test_dockerfile_base_image_is_pinned_by_digest(dockerfile):
    m = re.search(r"^ARG BASE_IMAGE=(\S+)$", dockerfile, re.MULTILINE)
    assert m, "no ARG BASE_IMAGE with a default"
    assert re.fullmatch(r"python:3\.11[\w.-]*-bookworm@sha256:[0-9a-f]{64}", m.group(1)), m.group(1)
    froms = [i for i in instructions(dockerfile) if i.upper().startswith("FROM ")]
    assert froms and all(f.split()[1] == "${BASE_IMAGE}" for f in froms), froms


def test_dockerfile_builds_with_the_legacy_builder(dockerfile):
    assert not re.search(r"^#\s*syntax\s*=", dockerfile, re.MULTILINE | re.IGNORECASE), (
        "a # syntax= line needs BuildKit"
    )
    assert "--mount" not in " ".join(instructions(dockerfile)), "RUN --mount needs BuildKit"


def test_dockerfile_installs_only_the_lock_with_hashes(dockerfile):
    runs = " ".join(i for i in instructions(dockerfile) if i.startswith("RUN "))
    installs = re.findall(r"pip install ([^;&|]*)", runs)
    assert installs, "no pip install in the Dockerfile"
    for args in installs:
        if "-e ." in args:  # the project itself: no dependencies, no network
            assert "--no-deps" in args and "--no-index" in args, args
        else:
            assert "--require-hashes" in args and "--no-deps" in args, args
            assert "-r /tmp/" in args, f"installs something other than a lock file: {args}"
    assert re.search(r"^COPY requirements\.lock ", dockerfile, re.MULTILINE)
    assert "--no-index --find-links" in runs, "no offline (WHEELHOUSE) install path"
    assert re.search(r"^ARG WHEELHOUSE=", dockerfile, re.MULTILINE)


def test_dockerfile_runs_as_non_root_and_runs_the_pipeline(dockerfile):
    ins = instructions(dockerfile)
    users = [i.split()[1] for i in ins if i.startswith("USER ")]
    assert users and users[-1] not in {"root", "0"}, f"final USER is {users[-1:] or 'root'}"
    cmd = [i for i in ins if i.startswith("CMD ")]
    assert cmd == ['CMD ["docker/run.sh"]'], cmd
    # the default command runs the whole workflow (every experiment of `run`), and says in
    # one line when the image's own results are up to date
    script = (ROOT / "docker/run.sh").read_text()
    assert 'exec snakemake "$@"' in script and "up to date" in script
    assert (ROOT / "docker/run.sh").stat().st_mode & 0o111, "docker/run.sh must be executable"


def test_dockerfile_records_provenance(dockerfile):
    assert re.search(r"^ARG GIT_COMMIT", dockerfile, re.MULTILINE)
    assert "A2C_REPRO_GIT_COMMIT=${GIT_COMMIT}" in dockerfile
    for key in ("source", "revision", "version"):
        assert f"org.opencontainers.image.{key}=" in dockerfile, f"OCI label {key} missing"
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    m = re.search(r"^ARG VERSION=(\S+)$", dockerfile, re.MULTILINE)
    assert m and m.group(1) == version, (
        f"ARG VERSION default {m and m.group(1)} != pyproject {version}"
    )


def test_dockerignore_keeps_local_state_out_of_the_image():
    ignored = {
        line.strip().rstrip("/")
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    needed = {".git", ".venv", ".snakemake", "results/logs", ".test/results", ".test/figures"}
    assert needed <= ignored, f".dockerignore lacks {sorted(needed - ignored)}"
    # The build must still see what the image needs.
    for path in ("requirements.lock", "pyproject.toml", "src", "tests", "results", "figures"):
        assert path not in ignored, f".dockerignore excludes {path}"


# -------------------------------------------------------------- README and CI
def readme_section(title: str) -> str:
    text = (ROOT / "README.md").read_text()
    m = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", text, re.MULTILINE | re.DOTALL)
    assert m, f"README has no '## {title}' section"
    return m.group(1)


def test_readme_quick_start_gives_the_two_commands_and_ci_runs_the_test_one():
    quick = readme_section("Quick start")
    assert "make reproduce" in quick and "make test" in quick
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^\s*(stage \S+ )?make test\s*$", ci, re.MULTILINE), (
        ".ci/run does not run `make test`"
    )
    makefile = (ROOT / "Makefile").read_text()
    for target in ("reproduce", "test", "lock", "wheelhouse"):
        assert re.search(rf"^{target}:", makefile, re.MULTILINE), f"Makefile has no {target} target"
    assert "--require-hashes" in makefile


def test_docs_give_the_docker_and_conda_routes():
    section = (ROOT / "docs" / "environment.md").read_text()
    assert "docs/environment.md" in (ROOT / "README.md").read_text()
    for needle in (
        "docker build",
        "docker run --rm --network none",
        "pytest",
        "conda env create -f environment.yml",
        "make lock",
    ):
        assert needle in section, f"docs/environment.md lacks {needle!r}"
