#!/usr/bin/env bash
# Docker build test: the Dockerfile is really built and run, offline.
#   1. installs docker.io and debootstrap from Debian if missing,
#   2. starts a private dockerd by hand (overlay2, no iptables, no bridge, its own
#      data root, exec root, socket and pidfile; legacy builder),
#   3. makes a local Debian bookworm base (debootstrap + docker import; bookworm's
#      python3 is 3.11) since no registry of images is reachable,
#   4. takes the commit HEAD (git archive) as build context, the revision the image is
#      labelled with, and downloads the wheelhouse of the lock on the host,
#   5. docker build --network none --build-arg BASE_IMAGE=... WHEELHOUSE=... GIT_COMMIT=...,
#   6. inside the image: the labels, the non-root user, the test suite (pytest), the
#      default CMD with no volume (one line: up to date), the plan of every experiment,
#      and the tiny configuration run by the default command into empty mounted folders,
#      whose CSVs must be byte-identical to the same run on the host,
#   7. stops the dockerd it started, by its PID, on any exit (trap).
# Needs root on Debian bookworm and the project venv (made here with `make install`).
# Usage: bash .ci/docker_build_test.sh          (15-20 minutes on 2 shared cores; most of it pytest in the image)
# Env:   A2C_DOCKER_CACHE  where the debootstrap base tarball is kept between runs
#                          (default /var/cache/a2c-repro-docker); delete it to rebuild.
#        KEEP_WORK=1       keep the work directory (logs, outputs) even on success.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
# shellcheck source=lib.sh
source "$HERE/lib.sh"
ci_init docker-test
TINY=.test/config/config.yaml
CONFIG=("$TINY") # the tiny configuration: an overlay merged onto config/config.yaml
IMAGE=a2c-repro:docker-test
BASE=a2c-repro-base:bookworm
CACHE=${A2C_DOCKER_CACHE:-/var/cache/a2c-repro-docker}
# Packages of the base image: python3 (3.11 on bookworm) with venv, and useradd.
BASE_PACKAGES=python3,python3-venv,passwd
CTR_UID=4321 # an arbitrary non-root uid, as `docker run --user "$(id -u):$(id -g)"` gives

exec 3>&1 # timed reports here even when the command's output goes to a log file
timed() { # timed LABEL CMD...: run CMD, print how long it took
    local label=$1 t0=$SECONDS rc=0
    shift
    "$@" || rc=$?
    local status=""
    ((rc == 0)) || status=" and FAILED (exit $rc)"
    printf '[docker-test] %s took %ds%s\n' "$label" $((SECONDS - t0)) "$status" >&3
    return "$rc"
}

[[ $(id -u) == 0 ]] || fail "must run as root (it starts dockerd and runs debootstrap); uid is $(id -u)"

WORK=$(mktemp -d /var/tmp/a2c-docker.XXXXXX)
DOCKERD_PID=
SOCK=$WORK/docker.sock
DOCKER=(docker -H "unix://$SOCK")

unmount_under() { # unmount whatever is still mounted below $1, deepest first
    local m
    awk -v p="$1/" 'index($2, p) == 1 {print $2}' /proc/mounts | sort -r | while read -r m; do
        umount -l "$m" 2>/dev/null || true
    done
}

stop_dockerd() {
    if [[ -n $DOCKERD_PID ]] && kill -0 "$DOCKERD_PID" 2>/dev/null; then
        echo "[docker-test] stopping dockerd (pid $DOCKERD_PID)"
        kill -TERM "$DOCKERD_PID"
        for _ in $(seq 60); do kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 0.5; done
        if kill -0 "$DOCKERD_PID" 2>/dev/null; then
            echo "[docker-test] dockerd did not stop in 30 s; SIGKILL" >&2
            kill -KILL "$DOCKERD_PID"
        fi
        wait "$DOCKERD_PID" 2>/dev/null
    fi
    unmount_under "$WORK"
}
ci_on_exit stop_dockerd "dockerd: $WORK/dockerd.log"

# --------------------------------------------------------------------------
step "docker.io and debootstrap from Debian"
missing=()
command -v dockerd >/dev/null || missing+=(docker.io)
command -v debootstrap >/dev/null || missing+=(debootstrap)
if ((${#missing[@]})); then
    export DEBIAN_FRONTEND=noninteractive
    timed "apt-get install ${missing[*]}" bash -c \
        "apt-get -o DPkg::Lock::Timeout=600 update -qq && apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends ${missing[*]} >/dev/null"
fi
# Debian's client matches Debian's daemon; prefer it over any other docker on PATH.
[[ -x /usr/bin/docker ]] && DOCKER=(/usr/bin/docker -H "unix://$SOCK")
export DOCKER_BUILDKIT=0 # the legacy builder: the Dockerfile must build without BuildKit
echo "dockerd: $(dockerd --version)"
echo "client:  $("${DOCKER[0]}" --version)"

# --------------------------------------------------------------------------
step "start a private dockerd"
mkdir -p "$WORK/data" "$WORK/exec"
dockerd --storage-driver overlay2 --iptables=false --ip6tables=false --bridge=none \
    --data-root "$WORK/data" --exec-root "$WORK/exec" -H "unix://$SOCK" \
    --pidfile "$WORK/dockerd.pid" >"$WORK/dockerd.log" 2>&1 &
DOCKERD_PID=$!
for _ in $(seq 120); do
    "${DOCKER[@]}" version >/dev/null 2>&1 && break
    if ! kill -0 "$DOCKERD_PID" 2>/dev/null; then
        DOCKERD_PID=
        echo "--- last lines of $WORK/dockerd.log:" >&2
        tail -n 25 "$WORK/dockerd.log" >&2
        fail "dockerd exited at start-up; see the log above (overlay2 needs a kernel with overlayfs and a data root on a filesystem that supports it)"
    fi
    sleep 0.5
done
"${DOCKER[@]}" version >/dev/null 2>&1 || { tail -n 25 "$WORK/dockerd.log" >&2; fail "dockerd (pid $DOCKERD_PID) did not answer on $SOCK within 60 s"; }
echo "dockerd pid $DOCKERD_PID, storage driver $("${DOCKER[@]}" info -f '{{.Driver}}'), socket $SOCK"

# --------------------------------------------------------------------------
step "local Debian bookworm base image ($BASE_PACKAGES)"
mkdir -p "$CACHE"
BASE_TAR=$CACHE/bookworm-minbase-${BASE_PACKAGES//,/-}.tar
if [[ ! -s $BASE_TAR ]]; then
    # The mirror this machine's apt uses (debootstrap's default when none is configured).
    mirror=$(awk '/^URIs:/ && $2 ~ /\/debian\/?$/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
    [[ -n $mirror ]] || mirror=$(awk '$1 == "deb" && $3 == "bookworm" {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
    echo "debootstrap bookworm from ${mirror:-the default mirror of debootstrap}"
    timed debootstrap debootstrap --variant=minbase --include="$BASE_PACKAGES" \
        bookworm "$WORK/rootfs" ${mirror:+"$mirror"} >"$WORK/debootstrap.log" 2>&1 \
        || { tail -n 25 "$WORK/debootstrap.log" >&2; fail "debootstrap failed; see the log above"; }
    unmount_under "$WORK/rootfs"
    rm -rf "$WORK/rootfs/var/cache/apt/archives/"*.deb "$WORK/rootfs/var/lib/apt/lists/"*
    tar -C "$WORK/rootfs" --numeric-owner -cf "$BASE_TAR.part" . && mv "$BASE_TAR.part" "$BASE_TAR"
    rm -rf "$WORK/rootfs"
else
    echo "using cached $BASE_TAR"
fi
timed "docker import" "${DOCKER[@]}" import --change 'ENV LANG=C.UTF-8' "$BASE_TAR" "$BASE" >/dev/null
"${DOCKER[@]}" run --rm --network none "$BASE" python3 -c 'import sys, venv, ensurepip; print("base python", sys.version.split()[0])'

# --------------------------------------------------------------------------
step "project venv and the wheelhouse of the lock (host, hash-checked)"
timed "make install" make -C "$REPO" --no-print-directory install >"$WORK/make-install.log" 2>&1 \
    || { tail -n 25 "$WORK/make-install.log" >&2; fail "make install failed"; }
# The build context is the commit HEAD (git archive), the revision the image is labelled
# with, plus the wheelhouse; the host run of the tiny config uses the same files.
COMMIT=$(git -C "$REPO" rev-parse HEAD)
if [[ -n $(git -C "$REPO" status --porcelain --untracked-files=no) ]]; then
    echo "note: uncommitted changes in $REPO are not part of this test (it builds commit $COMMIT)"
fi
CTX=$WORK/context
mkdir -p "$CTX" "$WORK/host"
git -C "$REPO" archive --format=tar "$COMMIT" | tar -xf - -C "$CTX"
git -C "$REPO" archive --format=tar "$COMMIT" | tar -xf - -C "$WORK/host"
timed "make wheelhouse" make -C "$REPO" --no-print-directory wheelhouse WHEELHOUSE="$CTX/wheelhouse" \
    >"$WORK/wheelhouse.log" 2>&1 || { tail -n 25 "$WORK/wheelhouse.log" >&2; fail "make wheelhouse failed"; }
n_locked=$(grep -cE '^[A-Za-z0-9]' "$REPO/requirements.lock")
n_files=$(find "$CTX/wheelhouse" -maxdepth 1 -type f | wc -l)
echo "wheelhouse: $n_files files for $n_locked locked packages, $(du -sh "$CTX/wheelhouse" | cut -f1)"
((n_files == n_locked)) || fail "wheelhouse has $n_files files but the lock pins $n_locked packages"

# --------------------------------------------------------------------------
step "docker build --network none (legacy builder, base $BASE)"
# The public address of the repository, if origin has one (not a local path of this machine).
SOURCE_URL=$(git -C "$REPO" remote get-url origin 2>/dev/null || true)
[[ $SOURCE_URL == *://* || $SOURCE_URL == git@* ]] || SOURCE_URL=unknown
VERSION=$("$REPO/.venv/bin/python" -c 'import tomllib; print(tomllib.load(open("'"$REPO"'/pyproject.toml", "rb"))["project"]["version"])')
t0=$SECONDS
"${DOCKER[@]}" build --network none \
    --build-arg BASE_IMAGE="$BASE" \
    --build-arg WHEELHOUSE=wheelhouse \
    --build-arg GIT_COMMIT="$COMMIT" \
    --build-arg VERSION="$VERSION" \
    --build-arg SOURCE_URL="$SOURCE_URL" \
    -t "$IMAGE" "$CTX" >"$WORK/build.log" 2>&1 || { tail -n 40 "$WORK/build.log" >&2; fail "docker build failed"; }
BUILD_S=$((SECONDS - t0))
SIZE=$("${DOCKER[@]}" image inspect -f '{{.Size}}' "$IMAGE")
printf '[docker-test] docker build took %ds; image %s is %d MB\n' "$BUILD_S" "$IMAGE" $((SIZE / 1000000))

# --------------------------------------------------------------------------
step "image metadata: OCI labels, provenance variable, non-root user, no wheelhouse"
label() { "${DOCKER[@]}" image inspect -f "{{index .Config.Labels \"org.opencontainers.image.$1\"}}" "$IMAGE"; }
[[ $(label revision) == "$COMMIT" ]] || fail "label revision is '$(label revision)', expected $COMMIT"
[[ $(label version) == "$VERSION" ]] || fail "label version is '$(label version)', expected $VERSION"
[[ -n $(label source) ]] || fail "label source is empty"
run() { "${DOCKER[@]}" run --rm --network none "$@"; }
env_commit=$(run "$IMAGE" printenv A2C_REPRO_GIT_COMMIT)
[[ $env_commit == "$COMMIT" ]] || fail "A2C_REPRO_GIT_COMMIT in the image is '$env_commit', expected $COMMIT"
uid=$(run "$IMAGE" id -u)
[[ $uid != 0 ]] || fail "the image runs as root"
run "$IMAGE" bash -c '! ls -d wheelhouse /tmp/wheels 2>/dev/null' || fail "the wheelhouse leaked into the final image"
echo "revision $COMMIT, version $VERSION, source $(label source), runs as uid $uid"
echo "default command: $("${DOCKER[@]}" image inspect -f '{{json .Config.Cmd}}' "$IMAGE")"

# --------------------------------------------------------------------------
step "test suite inside the image: docker run --rm --network none $IMAGE pytest"
t0=$SECONDS
rc=0
run "$IMAGE" pytest >"$WORK/pytest-in-docker.log" 2>&1 || rc=$?
tail -n 15 "$WORK/pytest-in-docker.log"
printf '[docker-test] pytest in the image took %ds\n' $((SECONDS - t0))
PYTEST_RC=$rc # a failure is reported at the end, after the other checks have run

step "default CMD with no volume: the image's own results are up to date, in one line"
run "$IMAGE" >"$WORK/default-cmd.log" 2>&1 \
    || { tail -n 25 "$WORK/default-cmd.log" >&2; fail "the default command failed in the image"; }
cat "$WORK/default-cmd.log"
[[ $(grep -c . "$WORK/default-cmd.log") == 1 ]] && grep -q "up to date" "$WORK/default-cmd.log" \
    || fail "the default command with no volume should print one line saying the results are up to date"

step "default CMD's plan covers every experiment (docker/run.sh --forceall --dry-run)"
run "$IMAGE" snakemake --forceall --dry-run --quiet rules >"$WORK/dryrun.log" 2>&1 \
    || { tail -n 25 "$WORK/dryrun.log" >&2; fail "the full pipeline does not resolve in the image"; }
for exp in main collapse_study fidelity; do
    grep -q "^provenance_$exp " "$WORK/dryrun.log" || fail "the image's plan lacks experiment $exp"
done
sed -n '/^Training to run/,/^  in all/p' "$WORK/dryrun.log"

# --------------------------------------------------------------------------
step "tiny pipeline (${CONFIG[*]}): host vs image, CSVs byte for byte"
[[ -f $CTX/$TINY ]] || fail "$TINY does not exist"
# The host run imports the engine from its own copy (src/ before the editable install).
timed "host run" env PYTHONPATH="$WORK/host/src" PATH="$REPO/.venv/bin:$PATH" bash -c \
    "cd '$WORK/host' && '$REPO/.venv/bin/snakemake' --cores 2 --configfile ${CONFIG[*]} >'$WORK/host-run.log' 2>&1" \
    || { tail -n 25 "$WORK/host-run.log" >&2; fail "the tiny pipeline failed on the host"; }
mkdir -p "$WORK/ctr/results" "$WORK/ctr/figures"
chmod 0777 "$WORK/ctr/results" "$WORK/ctr/figures"
APP=/home/app/a2c-repro
timed "image run (uid $CTR_UID)" "${DOCKER[@]}" run --rm --network none --user "$CTR_UID:$CTR_UID" \
    -v "$WORK/ctr/results:$APP/.test/results" -v "$WORK/ctr/figures:$APP/.test/figures" \
    "$IMAGE" docker/run.sh --cores 2 --configfile "${CONFIG[@]}" >"$WORK/image-run.log" 2>&1 \
    || { tail -n 25 "$WORK/image-run.log" >&2; fail "the tiny pipeline failed inside the image"; }
(cd "$WORK/host/.test/results" && find . -name '*.csv' | sort) >"$WORK/host-csvs.txt"
(cd "$WORK/ctr/results" && find . -name '*.csv' | sort) >"$WORK/image-csvs.txt"
n_csv=$(wc -l <"$WORK/host-csvs.txt")
((n_csv > 0)) || fail "the host run wrote no CSV under .test/results"
diff -u "$WORK/host-csvs.txt" "$WORK/image-csvs.txt" || fail "host and image wrote different sets of CSVs"
differ=0
while read -r f; do
    cmp -s "$WORK/host/.test/results/$f" "$WORK/ctr/results/$f" || { echo "differs: $f" >&2; differ=$((differ + 1)); }
done <"$WORK/host-csvs.txt"
((differ == 0)) || fail "$differ of $n_csv CSVs differ between the host and the image"
echo "all $n_csv CSVs byte-identical between host and image"
n_fig=$(find "$WORK/ctr/figures" -type f | wc -l)
((n_fig > 0)) || fail "the image run wrote no figure under .test/figures"
echo "image run wrote $n_fig figure files"
prov=$WORK/ctr/results/provenance.json
[[ -s $prov ]] || fail "the image run wrote no .test/results/provenance.json"
grep -q "$COMMIT" "$prov" || fail "provenance.json from the image does not record git commit $COMMIT"
echo "provenance.json records git commit $COMMIT"

((PYTEST_RC == 0)) || fail "pytest inside the image exited with $PYTEST_RC (5 means no test was collected); see above"
