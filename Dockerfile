# a2c-repro: the pinned environment as a container image.
# Written along Nüst et al. (2020), "Ten simple rules for writing Dockerfiles for
# reproducible data science", PLoS Comput Biol 16(11): e1008316:
#   a pinned base image (by digest), every Python package from the hash-pinned lock
#   (the same file CI and environment.yml install), one clearly ordered file, the
#   project copied in, a non-root user, a CMD that regenerates everything into mounted
#   results/ and figures/, build metadata as OCI labels, and a .dockerignore.
#
# Build (online):   docker build --build-arg GIT_COMMIT="$(git rev-parse HEAD)" -t a2c-repro .
# Build (offline):  make wheelhouse
#                   docker build --network none --build-arg WHEELHOUSE=wheelhouse \
#                     --build-arg GIT_COMMIT="$(git rev-parse HEAD)" -t a2c-repro .
# Reproduce:        mkdir -p results figures
#                   docker run --rm --network none --user "$(id -u):$(id -g)" \
#                     -v "$PWD/results:/home/app/a2c-repro/results" \
#                     -v "$PWD/figures:/home/app/a2c-repro/figures" a2c-repro
# Tests:            docker run --rm --network none a2c-repro pytest
#
# Works with the legacy builder (DOCKER_BUILDKIT=0): no "# syntax" line, no RUN --mount.

# BASE_IMAGE: the official python:3.11.13-slim-bookworm image, pinned by its
# multi-platform manifest digest. The digest was taken from public Dockerfiles that pin
# this tag; Docker Hub was unreachable where this file was written, so it was not pulled
# there. Any Debian bookworm image whose python3 is 3.11 with the venv module works
# (bookworm's own python3 is 3.11): .ci/docker_build_test.sh builds from a local
# debootstrap image with `--build-arg BASE_IMAGE=...`.
ARG BASE_IMAGE=python:3.11.13-slim-bookworm@sha256:86adf8dbadc3d6e82ee5dd2c74bec2e1c2467cdad47886280501df722372d2e1

# ---------------------------------------------------------------- build stage
# Installs the lock into /opt/venv and the project (editable) in its final place; the
# wheelhouse (if any) stays in this stage and never reaches the final image.
FROM ${BASE_IMAGE} AS build

# WHEELHOUSE: a directory in the build context holding every file of the lock
# (`make wheelhouse`). Set: install with --no-index from it (offline, --network none).
# Empty: download from PyPI, and torch from PyTorch's CPU index (TORCH_INDEX_URL).
ARG WHEELHOUSE=
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu

SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PYTHONDONTWRITEBYTECODE=1

RUN python3 -c 'import sys, venv, ensurepip; v = sys.version_info; sys.exit(0 if v[:2] == (3, 11) else f"BASE_IMAGE must provide Python 3.11, found {v.major}.{v.minor}")' \
    && python3 -m venv /opt/venv

# The lock first (and the wheelhouse when given), so that editing the code does not
# invalidate the dependency layer. Without WHEELHOUSE the second source is the lock again.
COPY requirements.lock ${WHEELHOUSE:-requirements.lock} /tmp/wheels/
RUN if [ -n "${WHEELHOUSE}" ]; then \
        /opt/venv/bin/pip install --no-cache-dir --require-hashes --no-deps \
            --no-index --find-links /tmp/wheels -r /tmp/wheels/requirements.lock; \
    else \
        awk '/^torch==/ {p = 1} p {print} p && !/\\$/ {exit}' /tmp/wheels/requirements.lock > /tmp/torch.txt \
        && /opt/venv/bin/pip install --no-cache-dir --require-hashes --no-deps \
            --extra-index-url "${TORCH_INDEX_URL}" -r /tmp/torch.txt \
        && /opt/venv/bin/pip install --no-cache-dir --require-hashes --no-deps \
            -r /tmp/wheels/requirements.lock; \
    fi \
    && /opt/venv/bin/pip check \
    && rm -rf /tmp/wheels /tmp/torch.txt

WORKDIR /home/app/a2c-repro
COPY . .
# The project itself, editable, offline, with the locked setuptools; then drop the
# wheelhouse copy and make the tree writable for any user id (docker run --user).
RUN /opt/venv/bin/pip install --no-cache-dir --no-deps --no-build-isolation --no-index -e . \
    && if [ -n "${WHEELHOUSE}" ]; then rm -rf "./${WHEELHOUSE}"; fi \
    && mkdir -p results figures \
    && chmod -R a+rwX .

# ---------------------------------------------------------------- final stage
FROM ${BASE_IMAGE}

ARG GIT_COMMIT=unknown
ARG VERSION=0.1.0
ARG SOURCE_URL=unknown
ARG BASE_IMAGE
LABEL org.opencontainers.image.title="a2c-repro" \
      org.opencontainers.image.description="One-step vs episodic Advantage Actor-Critic: pinned environment and Snakemake pipeline" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.source="${SOURCE_URL}" \
      org.opencontainers.image.revision="${GIT_COMMIT}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.base.name="${BASE_IMAGE}"

# A non-root user (app, uid 1000); its home is writable by any uid so `docker run --user` works too.
RUN groupadd --gid 1000 app \
    && useradd --no-log-init --create-home --uid 1000 --gid 1000 app \
    && chmod 1777 /home/app

COPY --from=build /opt/venv /opt/venv
COPY --from=build --chown=app:app /home/app/a2c-repro /home/app/a2c-repro
# COPY creates the top directory 0755; snakemake writes .snakemake/ there under any uid.
RUN chmod 0777 /home/app/a2c-repro

# A2C_REPRO_GIT_COMMIT: read by the provenance rule when `git rev-parse HEAD` fails
# (there is no .git in the image). USER: getpass.getuser() (snakemake calls it) needs a
# name when `docker run --user` gives a uid without a passwd entry. MPLBACKEND: no display.
ENV PATH=/opt/venv/bin:$PATH \
    HOME=/home/app \
    USER=app \
    A2C_REPRO_GIT_COMMIT=${GIT_COMMIT} \
    MPLBACKEND=Agg \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1

WORKDIR /home/app/a2c-repro
USER 1000:1000
VOLUME ["/home/app/a2c-repro/results", "/home/app/a2c-repro/figures"]

# Every experiment, on every core the container gets (profiles/default), into results/ and
# figures/: with no volume it checks the image's own results and says so in one line; with
# empty host folders mounted there it regenerates everything into them (docker/run.sh).
CMD ["docker/run.sh"]
