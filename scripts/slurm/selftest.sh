#!/usr/bin/env bash
# Start a single-node Slurm on this machine (Debian's slurm-wlm and munge,
# localhost only), run a 4-landscape job array end to end with the sbatch
# script, merge, and check every output equals a local `greenhalo batch`.
# Needs root (it starts munged, slurmctld and slurmd); stops them at the end.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$(pwd)
if [ "$(id -u)" -ne 0 ]; then echo "selftest: run as root (it starts Slurm daemons)" >&2; exit 1; fi
need=()
for p in slurm-wlm munge; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
bash scripts/setup.sh
cargo build --release --locked --bin greenhalo
export GREENHALO="$repo/target/release/greenhalo"
# The report shows when each run started: fixed, so the two ways compare byte for byte.
export SOURCE_DATE_EPOCH=1780000000

work=$(mktemp -d /tmp/greenhalo-slurm.XXXXXX)
chmod 755 "$work"
conf="$work/slurm.conf"
mem=$(awk '/MemTotal/ {print int($2 / 1024 * 0.8)}' /proc/meminfo)
cpus=$(nproc)
mkdir -p "$work/spool" "$work/state" "$work/log"
cat > "$conf" <<CONF
ClusterName=greenhalo-selftest
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmdSpoolDir=$work/spool
StateSaveLocation=$work/state
SlurmctldLogFile=$work/log/slurmctld.log
SlurmdLogFile=$work/log/slurmd.log
SlurmctldPort=16817
SlurmdPort=16818
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=selftest Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$conf"

# munge: a key, and the daemon (as root, hence --force).
if [ ! -s /etc/munge/munge.key ]; then
  mkdir -p /etc/munge
  dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key status=none
  chmod 400 /etc/munge/munge.key
fi
mkdir -p /run/munge /var/lib/munge /var/log/munge
pkill -x munged 2>/dev/null || true
munged --force --socket=/run/munge/munge.socket.2 --pid-file="$work/munged.pid" --log-file="$work/log/munged.log" --key-file=/etc/munge/munge.key
cleanup() {
  scontrol shutdown >/dev/null 2>&1 || true
  sleep 1
  [ -f "$work/slurmd.pid" ] && kill "$(cat "$work/slurmd.pid")" 2>/dev/null || true
  [ -f "$work/munged.pid" ] && kill "$(cat "$work/munged.pid")" 2>/dev/null || true
}
trap cleanup EXIT
slurmctld -f "$conf"
slurmd -f "$conf"
for _ in $(seq 1 30); do
  sinfo -h -o "%T" 2>/dev/null | grep -qE "idle|mixed" && break
  scontrol update nodename=localhost state=resume >/dev/null 2>&1 || true
  sleep 1
done
echo "Slurm is up:"
sinfo

# Four small landscapes.
for s in 1 2 3 4; do
  "$GREENHALO" -q synth --seed "$s" --size-km 16,12 --resolution 200 -o "$work/lands/land$s"
done

echo "Submitting a 4-task array ..."
jobid=$(sbatch --parsable --wait --array=1-4 --chdir="$work" --export=ALL,GREENHALO="$GREENHALO" \
  scripts/slurm/greenhalo-array.sbatch "$work/lands" "$work/slurm_out")
echo "array job $jobid finished"
sbatch --parsable --wait --chdir="$work" --export=ALL,GREENHALO="$GREENHALO" scripts/slurm/merge.sbatch "$work/slurm_out" >/dev/null
sacct -j "$jobid" -o JobID,State,ExitCode 2>/dev/null || true

echo "Local batch for comparison ..."
"$GREENHALO" -q batch "$work/lands" -o "$work/local_out"

# What is meant to be identical: every file byte for byte, and the run log
# without its start time and its per-stage timings (wall, CPU, memory).
digest() {
  (cd "$1" && find . -type f ! -name run_log.txt -print0 | sort -z | xargs -0 sha256sum
   [ -f "$1/run_log.txt" ] && sed -e '/^started /d' -e '/^per stage:/,/^(the halo runs/d' "$1/run_log.txt" | sha256sum
  ) | sha256sum
}
fail=0
for s in 1 2 3 4; do
  a=$(digest "$work/slurm_out/land$s")
  b=$(digest "$work/local_out/land$s")
  if [ "$a" = "$b" ]; then echo "land$s: identical (run_log.txt without its timings)"; else
    echo "land$s: DIFFERENT"; fail=1
    diff -r "$work/slurm_out/land$s" "$work/local_out/land$s" | head -20 || true
  fi
done
rows=$(($(wc -l < "$work/slurm_out/batch_summary.csv") - 1))
echo "merged table: $rows landscapes in $work/slurm_out/batch_summary.csv"
[ "$rows" -eq 4 ] || fail=1
[ $fail -eq 0 ] && echo "slurm selftest: PASS" || { echo "slurm selftest: FAIL (logs in $work/log)"; exit 1; }
