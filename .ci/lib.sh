# Shared by the CI test scripts (sourced, not run): step headings, failure, and the exit
# trap that stops what a script started and keeps its work directory when it failed.
#
#   source "$HERE/lib.sh"
#   ci_init docker-test                  # the tag in front of every message
#   WORK=$(mktemp -d ...)
#   ci_on_exit stop_dockerd "dockerd: $WORK/dockerd.log"
#
# A script's cleanup function runs on every exit (success, failure, Ctrl-C, TERM); then the
# work directory is removed on success (unless KEEP_WORK is set) and kept for its logs
# otherwise, with the hint saying which log to read first.

ci_init() { # ci_init TAG
    CI_TAG=$1
    T_START=$SECONDS
    STEP=0
}

step() {
    STEP=$((STEP + 1))
    printf '\n=== [%s %d] %s (t=%ds)\n' "$CI_TAG" "$STEP" "$*" $((SECONDS - T_START))
}

fail() {
    printf '\n[%s] FAILED: %s\n' "$CI_TAG" "$*" >&2
    exit 1
}

ci_on_exit() { # ci_on_exit CLEANUP_FUNCTION LOG_HINT
    CI_CLEANUP=$1
    CI_LOG_HINT=$2
    trap _ci_finish EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

_ci_finish() {
    local rc=$?
    set +e
    "$CI_CLEANUP"
    if ((rc == 0)) && [[ -z ${KEEP_WORK:-} ]]; then
        rm -rf "$WORK"
        printf '\n[%s] PASSED in %ds\n' "$CI_TAG" $((SECONDS - T_START))
    else
        echo "[$CI_TAG] exit code $rc; logs kept in $WORK ($CI_LOG_HINT)" >&2
    fi
    exit "$rc"
}
