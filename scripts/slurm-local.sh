#!/usr/bin/env bash
# A real two-node Slurm cluster on this machine, from Debian's packages (slurmctld slurmd
# slurm-client munge): munged, slurmctld and two slurmd (node1, node2) on loopback, cgroup limits
# where the kernel allows them. For the slurm backend's tests and for trying `--backend slurm`.
#
#   scripts/slurm-local.sh start    # idempotent; prints `export SLURM_CONF=...` (and the cluster's name)
#   scripts/slurm-local.sh status   # exit 0 when both nodes answer, 1 otherwise
#   scripts/slurm-local.sh stop     # cancels every job, stops the daemons, removes the state
#
#   eval "$(scripts/slurm-local.sh start | grep '^export ')"
#
# State lives outside the repository: $WARDEN_SLURM_DIR, default /tmp/mcp-warden-slurm. Ports:
# $WARDEN_SLURM_PORT (slurmctld, default 16817), node1/node2 on the next two... from 17001
# ($WARDEN_SLURM_NODE_PORT). Memory per node: $WARDEN_SLURM_NODE_MB (default 2000). A second cluster
# beside the first needs its own dir, ports, $WARDEN_SLURM_CLUSTER and $WARDEN_SLURM_NODE_PREFIX (node
# names name slurmd's cgroups). $WARDEN_SLURM_SLURMD_TIMEOUT: seconds before a silent node is down (30).
# Safe after a crash: stale pid files are ignored (a pid is trusted only when /proc says it is
# that daemon and not a zombie), and a half-started cluster is stopped and started again.
set -euo pipefail

DIR="${WARDEN_SLURM_DIR:-/tmp/mcp-warden-slurm}"
CTL_PORT="${WARDEN_SLURM_PORT:-16817}"
NODE_PORT="${WARDEN_SLURM_NODE_PORT:-17001}"
NODE_MB="${WARDEN_SLURM_NODE_MB:-2000}"
CLUSTER="${WARDEN_SLURM_CLUSTER:-warden-local}"
PREFIX="${WARDEN_SLURM_NODE_PREFIX:-node}"
SLURMD_TIMEOUT="${WARDEN_SLURM_SLURMD_TIMEOUT:-30}"
NODES=("${PREFIX}1" "${PREFIX}2")
CONF="$DIR/etc/slurm.conf"
MUNGE_SOCK="$DIR/munge/munge.socket"

die() { echo "slurm-local: $*" >&2; exit 1; }

need() {
  local missing=()
  for b in slurmctld slurmd munged mungekey sinfo scontrol scancel; do
    command -v "$b" >/dev/null 2>&1 || [ -x "/usr/sbin/$b" ] || missing+=("$b")
  done
  [ "${#missing[@]}" -eq 0 ] || die "missing ${missing[*]}: apt-get install -y slurmctld slurmd slurm-client munge"
  [ "$(id -u)" = 0 ] || die "run as root (slurmd must create cgroups and start steps as any user)"
}
PATH="$PATH:/usr/sbin:/sbin"

# A pid from FILE when that process is alive (not a zombie) and runs PROGRAM; nothing otherwise.
live_pid() {
  local file="$1" program="$2" pid state
  [ -s "$file" ] || return 1
  pid="$(tr -dc 0-9 <"$file")"
  [ -n "$pid" ] && [ -r "/proc/$pid/stat" ] || return 1
  state="$(sed -E 's/^[0-9]+ \(.*\) ([A-Za-z]) .*/\1/' "/proc/$pid/stat" 2>/dev/null || true)"
  [ "$state" != Z ] && [ "$state" != X ] || return 1
  grep -qa -- "$program" "/proc/$pid/cmdline" 2>/dev/null || return 1
  echo "$pid"
}

ctl_env() { export SLURM_CONF="$CONF"; }

nodes_idle() {
  ctl_env
  local out
  out="$(sinfo -h -N -o '%N %t' 2>/dev/null)" || return 1
  for n in "${NODES[@]}"; do
    echo "$out" | grep -Eq "^$n (idle|mix|alloc)\$" || return 1
  done
}

write_config() {
  mkdir -p "$DIR/etc" "$DIR/state" "$DIR/spool" "$DIR/log" "$DIR/run" "$DIR/munge"
  chmod 0755 "$DIR" "$DIR/munge"
  local host
  host="$(hostname -s)"
  : >"$DIR/etc/plugstack.conf"
  cat >"$DIR/etc/cgroup.conf" <<EOF
CgroupPlugin=autodetect
ConstrainCores=yes
ConstrainRAMSpace=yes
ConstrainSwapSpace=yes
AllowedSwapSpace=0
EOF
  local proctrack="proctrack/cgroup" task="task/cgroup,task/affinity"
  if [ ! -w /sys/fs/cgroup/memory ] && [ ! -w /sys/fs/cgroup/cgroup.subtree_control ]; then
    # No writable cgroups: run without limits rather than not at all, and say so.
    proctrack="proctrack/linuxproc"; task="task/none"
    echo "slurm-local: cgroups are not writable here: memory and CPU limits are NOT enforced" >&2
  fi
  cat >"$CONF" <<EOF
ClusterName=$CLUSTER
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$CTL_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$MUNGE_SOCK
CommunicationParameters=NoInAddrAny
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool/%n
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdPidFile=$DIR/run/slurmd-%n.pid
SlurmdLogFile=$DIR/log/slurmd-%n.log
PlugStackConfig=$DIR/etc/plugstack.conf
ProctrackType=$proctrack
TaskPlugin=$task
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
MpiDefault=none
ReturnToService=2
SlurmdTimeout=$SLURMD_TIMEOUT
MessageTimeout=5
InactiveLimit=0
KillWait=5
DefMemPerCPU=100
MailProg=/bin/true
JobCompType=jobcomp/none
NodeName=${PREFIX}1 NodeHostname=$host NodeAddr=127.0.0.1 Port=$NODE_PORT CPUs=2 Sockets=1 CoresPerSocket=2 ThreadsPerCore=1 RealMemory=$NODE_MB
NodeName=${PREFIX}2 NodeHostname=$host NodeAddr=127.0.0.1 Port=$((NODE_PORT + 1)) CPUs=2 Sockets=1 CoresPerSocket=2 ThreadsPerCore=1 RealMemory=$NODE_MB
# Sessions mostly wait for their agent: up to 16 share a core (FORCE), spread over the least loaded node (LLN).
PartitionName=main Nodes=${PREFIX}[1-2] Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:16 LLN=YES
EOF
}

start_munge() {
  live_pid "$DIR/run/munged.pid" munged >/dev/null && return 0
  [ -s "$DIR/munge/munge.key" ] || mungekey -c -k "$DIR/munge/munge.key" >/dev/null
  rm -f "$MUNGE_SOCK" "$MUNGE_SOCK.lock"
  munged -F --socket="$MUNGE_SOCK" --key-file="$DIR/munge/munge.key" --pid-file="$DIR/run/munged.pid" \
    --seed-file="$DIR/munge/munge.seed" --log-file="$DIR/log/munged.log" --force </dev/null >>"$DIR/log/munged.out" 2>&1 9>&- &
  echo $! >"$DIR/run/munged.pid"
  for _ in $(seq 1 50); do [ -S "$MUNGE_SOCK" ] && return 0; sleep 0.1; done
  die "munged did not start (see $DIR/log/munged.log)"
}

start_daemons() {
  ctl_env
  if ! live_pid "$DIR/run/slurmctld.pid" slurmctld >/dev/null; then
    slurmctld -D -c -f "$CONF" </dev/null >>"$DIR/log/slurmctld.out" 2>&1 9>&- &
    echo $! >"$DIR/run/slurmctld.pid"
  fi
  for n in "${NODES[@]}"; do
    if ! live_pid "$DIR/run/slurmd-$n.pid" slurmd >/dev/null; then
      mkdir -p "$DIR/spool/$n"
      slurmd -D -N "$n" -f "$CONF" </dev/null >>"$DIR/log/slurmd-$n.out" 2>&1 9>&- &
      echo $! >"$DIR/run/slurmd-$n.pid"
    fi
  done
  for _ in $(seq 1 150); do
    if nodes_idle; then return 0; fi
    # A node that came back from a crash is `down`: ReturnToService=2 brings it back once it
    # registers; resume it in case it registered before.
    for n in "${NODES[@]}"; do scontrol update NodeName="$n" State=RESUME >/dev/null 2>&1 || true; done
    sleep 0.2
  done
  sinfo -N >&2 || true
  die "the nodes did not become idle within 30 s (logs in $DIR/log)"
}

stop_all() {
  if [ -f "$CONF" ]; then
    ctl_env
    timeout 5 scancel --full --quiet --user="$(id -un)" >/dev/null 2>&1 || true
    # Give slurmd a moment to kill steps through their cgroups.
    sleep 0.3
  fi
  local pids=()
  for f in "$DIR"/run/slurmd-*.pid "$DIR/run/slurmctld.pid" "$DIR/run/munged.pid"; do
    [ -e "$f" ] || continue
    local prog
    case "$f" in *slurmd-*) prog=slurmd ;; *slurmctld*) prog=slurmctld ;; *) prog=munged ;; esac
    local p
    if p="$(live_pid "$f" "$prog")"; then kill -TERM "$p" 2>/dev/null || true; pids+=("$p"); fi
  done
  for _ in $(seq 1 50); do
    local alive=0
    for p in "${pids[@]}"; do [ -r "/proc/$p/stat" ] && ! grep -q ') Z ' "/proc/$p/stat" && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.1
  done
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  # Any slurmstepd this cluster left (its environment names our SLURM_CONF) goes too.
  for p in $(pgrep -f "slurmstepd" 2>/dev/null || true); do
    if { tr '\0' ' ' <"/proc/$p/environ"; } 2>/dev/null | grep -q "SLURM_CONF=$CONF"; then kill -KILL "$p" 2>/dev/null || true; fi
  done
  # Empty cgroup directories slurmd leaves behind (FACTS: slurm_nodeN under freezer/memory/cpuset).
  for n in "${NODES[@]}"; do
    for c in /sys/fs/cgroup/*/slurm_"$n"; do
      [ -d "$c" ] && find "$c" -depth -type d -exec rmdir {} \; 2>/dev/null || true
    done
  done
}

status() {
  if [ -f "$CONF" ] && nodes_idle; then
    ctl_env
    echo "cluster $CLUSTER up: SLURM_CONF=$CONF"
    sinfo -N -o '%N %t %c %m %P'
    return 0
  fi
  echo "cluster $CLUSTER is not running (state dir $DIR)"
  return 1
}

cmd="${1:-}"
case "$cmd" in
  start)
    need
    mkdir -p "$DIR"
    exec 9>"$DIR.lock"
    flock 9
    if [ -f "$CONF" ] && nodes_idle; then :; else
      # Half-started or crashed: stop whatever is left, keep the key and state, start again.
      if [ -f "$CONF" ]; then stop_all; fi
      write_config
      start_munge
      start_daemons
    fi
    echo "export SLURM_CONF=$CONF"
    echo "# cluster $CLUSTER: nodes ${NODES[*]} (partition main); stop with: $0 stop"
    ;;
  stop)
    mkdir -p "$(dirname "$DIR")"
    exec 9>"$DIR.lock"
    flock 9
    stop_all
    rm -rf "$DIR"
    rm -f "$DIR.lock"
    echo "stopped; removed $DIR"
    ;;
  status) status ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
