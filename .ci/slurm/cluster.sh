# shellcheck shell=bash
# One-node SLURM cluster (munged, mariadbd, slurmdbd, slurmctld, slurmd) on
# localhost, every file inside one temporary directory, every daemon started
# by hand in the foreground-mode with its PID recorded so that cluster_down
# stops exactly those processes and nothing else.
#
# Source this file, then:   cluster_up DIR   ...   cluster_down
# After cluster_up, SLURM_CONF is exported, so sinfo/sbatch/sacct/srun and
# the Snakemake SLURM executor talk to this cluster only.
# Needs root on Debian bookworm (installs slurm-wlm slurmdbd munge
# mariadb-server with apt-get if they are missing).

SLURM_CLUSTER_NAME=${SLURM_CLUSTER_NAME:-a2c}
SLURM_PARTITION_NAME=${SLURM_PARTITION_NAME:-debug}
SLURM_TEST_ACCOUNT=${SLURM_TEST_ACCOUNT:-a2c}
_CLUSTER_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
_CLUSTER_PIDS=()     # "name:pid", in start order
_CLUSTER_DIR=""

_say() { printf '[slurm %(%H:%M:%S)T] %s\n' -1 "$*"; }
_die() { printf '[slurm] FAILED: %s\n' "$*" >&2; return 1; }

cluster_install() {
    local missing=() exe
    export PATH=$PATH:/usr/sbin:/sbin
    for exe in slurmctld:slurmctld slurmd:slurmd slurmdbd:slurmdbd sacct:slurm-client \
               munged:munge mariadbd:mariadb-server mariadb-install-db:mariadb-server; do
        command -v "${exe%%:*}" >/dev/null 2>&1 || missing+=("${exe##*:}")
    done
    if ((${#missing[@]} == 0)); then
        _say "SLURM, munge and MariaDB already installed"
        return 0
    fi
    [[ $(id -u) == 0 ]] || _die "need root to apt-get install ${missing[*]}" || return 1
    _say "installing slurm-wlm slurmdbd munge mariadb-server (missing: ${missing[*]})"
    # policy-rc.d keeps the packages' own services from starting: we start
    # our own daemons with our own configuration below.
    local policy=/usr/sbin/policy-rc.d created_policy=0
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && created_policy=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get update -q \
        && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
            slurm-wlm slurmdbd slurm-client munge mariadb-server mariadb-client
    local rc=$?
    ((created_policy)) && rm -f "$policy"
    ((rc == 0)) || _die "apt-get install failed (rc=$rc)"
}

# Ports: the default SLURM ports if free, else any free port on 127.0.0.1.
_free_port() {
    python3 - "$@" <<'PY'
import socket, sys
taken = {int(p) for p in sys.argv[2:]}
want = int(sys.argv[1])
def free(p):
    if p in taken:
        return False
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p)); return True
    except OSError:
        return False
    finally:
        s.close()
if want and free(want):
    print(want)
else:
    while True:
        s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close()
        if free(p):
            print(p); break
PY
}

_start() {  # _start NAME LOGFILE CMD... : start in background, record the PID
    local name=$1 log=$2
    shift 2
    "$@" >>"$log" 2>&1 &
    local pid=$!
    _CLUSTER_PIDS+=("$name:$pid")
    _say "started $name (pid $pid)"
}

_alive() {  # _alive NAME : is the daemon we started still running?
    local entry
    for entry in "${_CLUSTER_PIDS[@]}"; do
        [[ ${entry%%:*} == "$1" ]] && kill -0 "${entry##*:}" 2>/dev/null && return 0
    done
    return 1
}

_wait_for() {  # _wait_for NAME SECONDS LOG CMD... : poll CMD until it succeeds
    local name=$1 secs=$2 log=$3
    shift 3
    local t0=$SECONDS
    until "$@" >/dev/null 2>&1; do
        if ! _alive "$name"; then
            _say "$name exited; last lines of $log:"; tail -n 30 "$log" >&2
            _die "$name died during start-up"; return 1
        fi
        if ((SECONDS - t0 > secs)); then
            _say "last lines of $log:"; tail -n 30 "$log" >&2
            _die "$name not ready after ${secs}s"; return 1
        fi
        sleep 1
    done
    _say "$name ready after $((SECONDS - t0))s"
}

_DEFAULT_CONF=/etc/slurm/slurm.conf
_DEFAULT_CONF_LINKED=0
_link_default_conf() {
    local target=$1 old
    if [[ -L $_DEFAULT_CONF ]]; then
        old=$(readlink "$_DEFAULT_CONF")
        # A link left by an earlier run of this test that was killed (a temporary
        # a2c-slurm.* directory whose slurmctld is not running): remove it.
        local pidfile=${old%/etc/slurm.conf}/state/slurmctld.pid
        if [[ $old == */a2c-slurm.*/etc/slurm.conf ]] \
            && ! { [[ -s $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }; then
            _say "removing stale link $_DEFAULT_CONF -> $old (its slurmctld is not running)"
            rm -f "$_DEFAULT_CONF"
        fi
    fi
    if [[ -e $_DEFAULT_CONF || -L $_DEFAULT_CONF ]]; then
        _die "$_DEFAULT_CONF exists (this machine's own SLURM configuration, or another live test is running); not overwriting it"
        return 1
    fi
    mkdir -p "$(dirname "$_DEFAULT_CONF")"
    ln -s "$target" "$_DEFAULT_CONF"
    _DEFAULT_CONF_LINKED=1
    _say "linked $_DEFAULT_CONF -> $target"
}

_node_idle() { [[ $(sinfo -h -N -n localhost -o '%t' 2>/dev/null) == idle ]]; }

cluster_up() {
    local dir=$1
    [[ -n $dir ]] || _die "usage: cluster_up DIR" || return 1
    _CLUSTER_DIR=$dir
    local state=$dir/state logs=$dir/logs etc=$dir/etc run=$dir/run
    mkdir -p "$state/ctld" "$state/slurmd" "$logs" "$etc" "$run" "$dir/mysql"
    chmod 755 "$dir" "$run"
    export PATH=$PATH:/usr/sbin:/sbin

    # --- ports --------------------------------------------------------------
    local p_mysql p_dbd p_ctld p_slurmd
    p_mysql=$(_free_port 0)
    p_dbd=$(_free_port 6819 "$p_mysql")
    p_ctld=$(_free_port 6817 "$p_mysql" "$p_dbd")
    p_slurmd=$(_free_port 6818 "$p_mysql" "$p_dbd" "$p_ctld")
    _say "ports: mariadb=$p_mysql slurmdbd=$p_dbd slurmctld=$p_ctld slurmd=$p_slurmd"

    # --- this machine's real CPUs/memory, as slurmd sees them ----------------
    local hw cpus boards sockets cores threads mem
    hw=$(slurmd -C | head -n 1)
    _field() { sed -n "s/.*\b$1=\([0-9]*\).*/\1/p" <<<"$hw"; }
    cpus=$(_field CPUs); boards=$(_field Boards); sockets=$(_field SocketsPerBoard)
    cores=$(_field CoresPerSocket); threads=$(_field ThreadsPerCore); mem=$(_field RealMemory)
    [[ -n $cpus && -n $mem ]] || _die "cannot parse 'slurmd -C': $hw" || return 1
    mem=$((mem * 95 / 100))   # leave some headroom so the node never drains on memory
    _say "node: CPUs=$cpus Sockets=$sockets Cores=$cores Threads=$threads RealMemory=$mem"

    # --- configuration -------------------------------------------------------
    local db_pass
    db_pass=$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')
    local subst=(
        -e "s|@CLUSTER@|$SLURM_CLUSTER_NAME|g" -e "s|@PARTITION@|$SLURM_PARTITION_NAME|g"
        -e "s|@CTLD_PORT@|$p_ctld|g" -e "s|@SLURMD_PORT@|$p_slurmd|g"
        -e "s|@DBD_PORT@|$p_dbd|g" -e "s|@MYSQL_PORT@|$p_mysql|g"
        -e "s|@MUNGE_SOCKET@|$run/munge.socket|g" -e "s|@STATE@|$state|g" -e "s|@LOGS@|$logs|g"
        -e "s|@CPUS@|$cpus|g" -e "s|@BOARDS@|${boards:-1}|g" -e "s|@SOCKETS@|${sockets:-1}|g"
        -e "s|@CORES@|${cores:-$cpus}|g" -e "s|@THREADS@|${threads:-1}|g" -e "s|@MEM_MB@|$mem|g"
        -e "s|@DB_PASS@|$db_pass|g"
    )
    sed "${subst[@]}" "$_CLUSTER_HERE/slurm.conf.in" >"$etc/slurm.conf"
    sed "${subst[@]}" "$_CLUSTER_HERE/slurmdbd.conf.in" >"$etc/slurmdbd.conf"
    cp "$_CLUSTER_HERE/cgroup.conf" "$etc/cgroup.conf"
    chmod 600 "$etc/slurmdbd.conf"   # slurmdbd refuses a readable password file
    chmod 644 "$etc/slurm.conf" "$etc/cgroup.conf"
    # Every SLURM command and daemon (slurmdbd reads slurmdbd.conf from the
    # same directory) uses this configuration from now on.
    export SLURM_CONF=$etc/slurm.conf
    # ...except the `srun` that snakemake-executor-plugin-slurm-jobstep starts
    # inside each job: it removes every SLURM_* variable but the job's identity
    # from that srun's environment, SLURM_CONF included, so srun looks for the
    # default /etc/slurm/slurm.conf. Point that path at this configuration for
    # the lifetime of the cluster (refusing to touch a real cluster's file).
    _link_default_conf "$etc/slurm.conf" || return 1

    # --- munge ---------------------------------------------------------------
    dd if=/dev/urandom of="$etc/munge.key" bs=1024 count=1 status=none
    chmod 400 "$etc/munge.key"
    _start munged "$logs/munged.out" munged --foreground --force \
        --key-file="$etc/munge.key" --socket="$run/munge.socket" \
        --pid-file="$run/munged.pid" --log-file="$logs/munged.log" --seed-file="$state/munge.seed"
    _wait_for munged 30 "$logs/munged.out" \
        bash -c "munge -n -S '$run/munge.socket' | unmunge -S '$run/munge.socket'" || return 1

    # --- MariaDB for slurmdbd -------------------------------------------------
    _say "initialising MariaDB data directory"
    mariadb-install-db --no-defaults --datadir="$dir/mysql" --user=root \
        --auth-root-authentication-method=socket --skip-test-db \
        >"$logs/mariadb-install.log" 2>&1 \
        || { tail -n 30 "$logs/mariadb-install.log" >&2; _die "mariadb-install-db failed"; return 1; }
    _start mariadbd "$logs/mariadbd.out" mariadbd --no-defaults --user=root \
        --datadir="$dir/mysql" --socket="$run/mysql.sock" --pid-file="$run/mariadbd.pid" \
        --port="$p_mysql" --bind-address=127.0.0.1 --skip-name-resolve \
        --log-error="$logs/mariadbd.log" \
        --innodb-buffer-pool-size=128M --innodb-lock-wait-timeout=900 --innodb-log-file-size=64M
    _wait_for mariadbd 60 "$logs/mariadbd.log" \
        mariadb-admin --no-defaults -S "$run/mysql.sock" -u root ping || return 1
    mariadb --no-defaults -S "$run/mysql.sock" -u root <<SQL || _die "creating the slurm DB user failed" || return 1
CREATE DATABASE IF NOT EXISTS slurm_acct_db;
CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY '$db_pass';
CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY '$db_pass';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';
GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost';
FLUSH PRIVILEGES;
SQL
    _say "database slurm_acct_db and user slurm created"

    # --- slurmdbd, then the cluster/account/user records ------------------------
    _start slurmdbd "$logs/slurmdbd.out" slurmdbd -D
    _wait_for slurmdbd 90 "$logs/slurmdbd.log" sacctmgr -n list cluster || return 1
    sacctmgr -i add cluster "$SLURM_CLUSTER_NAME" >/dev/null
    sacctmgr -i add account "$SLURM_TEST_ACCOUNT" Cluster="$SLURM_CLUSTER_NAME" \
        Description="a2c-repro live test" Organization=a2c-repro >/dev/null
    sacctmgr -i add user "$(id -un)" DefaultAccount="$SLURM_TEST_ACCOUNT" \
        Cluster="$SLURM_CLUSTER_NAME" >/dev/null
    [[ -n $(sacctmgr -n -P list association cluster="$SLURM_CLUSTER_NAME" \
        account="$SLURM_TEST_ACCOUNT" user="$(id -un)" format=user) ]] \
        || _die "sacctmgr did not register user $(id -un) in account $SLURM_TEST_ACCOUNT" || return 1
    _say "accounting: cluster=$SLURM_CLUSTER_NAME account=$SLURM_TEST_ACCOUNT user=$(id -un)"

    # --- slurmctld, slurmd ----------------------------------------------------
    _start slurmctld "$logs/slurmctld.out" slurmctld -D -i
    _wait_for slurmctld 60 "$logs/slurmctld.log" scontrol ping || return 1
    _start slurmd "$logs/slurmd.out" slurmd -D -N localhost
    _wait_for slurmd 90 "$logs/slurmd.log" _node_idle || return 1
    _wait_for slurmctld 30 "$logs/slurmctld.log" sacct -n -X || return 1
    _say "cluster up: $(sinfo -h -o '%P %a %D %t %c' | tr -s ' ')"
}

cluster_down() {
    ((${#_CLUSTER_PIDS[@]} || _DEFAULT_CONF_LINKED)) || return 0
    _say "stopping the cluster"
    if _alive slurmctld; then   # end any job still running, so no slurmstepd is left
        scancel --quiet --user "$(id -un)" 2>/dev/null || true
        local t0=$SECONDS
        while [[ -n $(squeue -h -o %i 2>/dev/null) ]] && ((SECONDS - t0 < 30)); do sleep 1; done
    fi
    local i entry name pid t0
    for ((i = ${#_CLUSTER_PIDS[@]} - 1; i >= 0; i--)); do   # reverse start order
        entry=${_CLUSTER_PIDS[i]}; name=${entry%%:*}; pid=${entry##*:}
        kill -0 "$pid" 2>/dev/null || { _say "$name (pid $pid) already gone"; continue; }
        kill -TERM "$pid" 2>/dev/null || true
        t0=$SECONDS
        while kill -0 "$pid" 2>/dev/null && ((SECONDS - t0 < 30)); do sleep 0.5; done
        if kill -0 "$pid" 2>/dev/null; then
            _say "$name (pid $pid) ignored SIGTERM for 30s: SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
        fi
        wait "$pid" 2>/dev/null || true
        _say "stopped $name (pid $pid)"
    done
    _CLUSTER_PIDS=()
    if ((_DEFAULT_CONF_LINKED)) && [[ -L $_DEFAULT_CONF ]]; then
        rm -f "$_DEFAULT_CONF" && _say "removed the link $_DEFAULT_CONF"
    fi
    _DEFAULT_CONF_LINKED=0
}
