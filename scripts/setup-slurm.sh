#!/usr/bin/env bash
# A throw-away Slurm cluster on this machine, for the Slurm backend's tests.
#
#   bash scripts/setup-slurm.sh [install|start|stop|status|env]   (default: install + start)
#
# install  Debian's munge, slurmctld, slurmd, slurm-client, slurmrestd and the JWT plugin
#          (apt-get, only when missing).
# start    writes a minimal slurm.conf into $LILYNODE_SLURM_DIR (default /tmp/lilynode-slurm)
#          and starts, all as root and all on 127.0.0.1 with free ports: its own munged
#          (own key and socket, so a system munged is left alone), slurmctld, three slurmd on
#          this host (Debian's 22.05 build runs several with `slurmd -N <node>`, each with its
#          own Port) and slurmrestd (JWT auth, as user nobody). Safe to run again: a cluster
#          that answers is kept.
#            lily1  2 CPUs, 1536 MiB, 1024 MiB TmpDisk  ┐ partition lily (default)
#            lily2  1 CPU,   768 MiB,  512 MiB TmpDisk  ┘
#            lily3  2 CPUs, 1024 MiB, gres gpu:tgpu:2      partitions lilyx (tier 1) and
#                   (the GPUs are stand-in devices)        lilyhigh (tier 10, preempts lilyx)
# stop     stops every daemon it started (by the pids it wrote) and removes the folder.
# env      prints `export SLURM_CONF=…` and the slurmrestd URL (what the tests read from
#          $LILYNODE_SLURM_DIR/env).
set -euo pipefail
DIR="${LILYNODE_SLURM_DIR:-/tmp/lilynode-slurm}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
PKGS=(munge slurmctld slurmd slurm-client slurmrestd slurm-wlm-jwt-plugin)

log () { echo "setup-slurm: $*" >&2; }

install () {
  local missing=()
  for p in "${PKGS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  [ "${#missing[@]}" -eq 0 ] && return 0
  log "installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# A TCP port on 127.0.0.1 that nothing listens on, away from the ephemeral range tests use.
free_port () {
  local p
  for _ in $(seq 1 200); do
    p=$(( 20000 + RANDOM % 12000 ))
    if ! ss -Hltn "sport = :$p" | grep -q . && ! grep -qx "$p" "$DIR/.ports" 2>/dev/null; then
      echo "$p" >> "$DIR/.ports"
      echo "$p"
      return 0
    fi
  done
  log "no free port found"; return 1
}

answers () {
  [ -f "$DIR/slurm.conf" ] && SLURM_CONF="$DIR/slurm.conf" timeout 10 sinfo -h -o %n >/dev/null 2>&1
}

wait_for () { # what, tries, command...
  local what="$1" tries="$2"; shift 2
  for _ in $(seq 1 "$tries"); do "$@" >/dev/null 2>&1 && return 0; sleep 0.5; done
  log "$what did not come up; logs in $DIR:"; tail -n 20 "$DIR"/*.log >&2 || true
  return 1
}

write_conf () {
  local ctld="$1" d1="$2" d2="$3" d3="$4"
  cat > "$DIR/slurm.conf" <<EOF
# written by scripts/setup-slurm.sh for lilynode's tests; removed by \`setup-slurm.sh stop\`
ClusterName=lilytest
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$ctld
SlurmdPort=$d1
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$DIR/munge/munge.sock
AuthAltTypes=auth/jwt
AuthAltParameters=jwt_key=$DIR/jwt.key
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool-%n
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd-%n.pid
SlurmctldLogFile=$DIR/slurmctld.log
SlurmdLogFile=$DIR/slurmd-%n.log
# no cgroups in a container: processes tracked by parent pid; containers get their limits from Docker
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
PreemptType=preempt/partition_prio
PreemptMode=CANCEL
GresTypes=gpu
ReturnToService=2
MinJobAge=600
KillWait=10
SlurmdTimeout=30
MailProg=/bin/true
NodeName=lily1 NodeHostname=localhost NodeAddr=127.0.0.1 Port=$d1 CPUs=2 RealMemory=1536 TmpDisk=1024 State=UNKNOWN
NodeName=lily2 NodeHostname=localhost NodeAddr=127.0.0.1 Port=$d2 CPUs=1 RealMemory=768 TmpDisk=512 State=UNKNOWN
NodeName=lily3 NodeHostname=localhost NodeAddr=127.0.0.1 Port=$d3 CPUs=2 RealMemory=1024 Gres=gpu:tgpu:2 State=UNKNOWN
PartitionName=lily Nodes=lily1,lily2 Default=YES MaxTime=INFINITE State=UP PriorityTier=1
PartitionName=lilyx Nodes=lily3 MaxTime=60 State=UP PriorityTier=1
PartitionName=lilyhigh Nodes=lily3 MaxTime=60 State=UP PriorityTier=10
EOF
  # stand-in GPU devices: slurmd wants one device file per GPU; nothing opens them (TaskPlugin=task/none)
  echo "NodeName=lily3 Name=gpu Type=tgpu File=/dev/tty[0-1]" > "$DIR/gres.conf"
  chmod 644 "$DIR/slurm.conf" "$DIR/gres.conf"
}

start () {
  if answers; then log "cluster in $DIR already answers"; print_env > "$DIR/env"; return 0; fi
  for b in munged slurmctld slurmd slurmrestd sinfo; do
    command -v "$b" >/dev/null 2>&1 || { log "$b is not installed: run \`bash scripts/setup-slurm.sh install\`"; return 1; }
  done
  stop_daemons
  rm -rf "$DIR"
  mkdir -p "$DIR/munge" "$DIR/state" "$DIR/spool-lily1" "$DIR/spool-lily2" "$DIR/spool-lily3"
  chmod 755 "$DIR"; chmod 700 "$DIR/munge"
  dd if=/dev/urandom of="$DIR/munge/munge.key" bs=1024 count=1 status=none
  dd if=/dev/urandom of="$DIR/jwt.key" bs=32 count=1 status=none
  chmod 600 "$DIR/munge/munge.key" "$DIR/jwt.key"
  local ctld d1 d2 d3 rest
  ctld=$(free_port); d1=$(free_port); d2=$(free_port); d3=$(free_port); rest=$(free_port)
  echo "$rest" > "$DIR/rest.port"
  write_conf "$ctld" "$d1" "$d2" "$d3"
  export SLURM_CONF="$DIR/slurm.conf"

  munged --force --socket="$DIR/munge/munge.sock" --key-file="$DIR/munge/munge.key" \
    --pid-file="$DIR/munge/munged.pid" --log-file="$DIR/munged.log" --seed-file="$DIR/munge/seed"
  wait_for munged 20 sh -c "munge -S '$DIR/munge/munge.sock' -n | unmunge -S '$DIR/munge/munge.sock'"

  slurmctld -f "$SLURM_CONF" -i
  wait_for slurmctld 40 scontrol ping
  for n in lily1 lily2 lily3; do slurmd -f "$SLURM_CONF" -N "$n"; done
  # registration is asynchronous: wait until every node is up (idle) and clear a stale drain
  local ok=""
  for _ in $(seq 1 60); do
    if [ "$(sinfo -h -N -o '%N %t' | sort -u | awk '$2=="idle"' | wc -l)" -ge 3 ]; then ok=1; break; fi
    scontrol update nodename=lily[1-3] state=resume >/dev/null 2>&1 || true
    sleep 0.5
  done
  [ -n "$ok" ] || { log "the slurmd nodes did not register:"; sinfo -N >&2 || true; tail -n 20 "$DIR"/slurmd-*.log "$DIR/slurmctld.log" >&2; return 1; }

  # slurmrestd refuses to run as root: it drops to nobody after opening its socket
  SLURM_JWT=daemon setsid slurmrestd -f "$SLURM_CONF" -a rest_auth/jwt -s openapi/v0.0.38 -u nobody -t 2 "127.0.0.1:$rest" \
    >> "$DIR/slurmrestd.log" 2>&1 < /dev/null &
  echo $! > "$DIR/slurmrestd.pid"
  wait_for slurmrestd 40 sh -c "ss -Hltn 'sport = :$rest' | grep -q ."
  print_env > "$DIR/env"
  log "cluster up in $DIR: $(sinfo -h -N -o '%N:%P:%t' | tr '\n' ' ')(slurmrestd on 127.0.0.1:$rest)"
}

print_env () {
  echo "export SLURM_CONF=$DIR/slurm.conf"
  echo "export LILYNODE_SLURM_REST_URL=http://127.0.0.1:$(cat "$DIR/rest.port" 2>/dev/null || echo 0)"
}

# Kills (by the pid files in $DIR only) what `start` launched: all at once, then waits for each.
stop_daemons () {
  local f pid pids=()
  for f in "$DIR/slurmrestd.pid" "$DIR"/slurmd-*.pid "$DIR/slurmctld.pid" "$DIR/munge/munged.pid"; do
    [ -f "$f" ] || continue
    pid=$(cat "$f" 2>/dev/null || true)
    rm -f "$f"
    [[ "$pid" =~ ^[0-9]+$ ]] || continue
    kill "$pid" 2>/dev/null && pids+=("$pid")
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$pid" 2>/dev/null || true
  done
}

stop () {
  stop_daemons
  rm -rf "$DIR"
  log "cluster in $DIR stopped and removed"
}

case "${1:-up}" in
  install) install ;;
  start) start ;;
  up) install && start ;;
  stop|down) stop ;;
  status) answers && SLURM_CONF="$DIR/slurm.conf" sinfo -N ;;
  env) print_env ;;
  *) echo "usage: $0 [install|start|up|stop|status|env]" >&2; exit 2 ;;
esac
