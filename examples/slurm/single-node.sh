#!/bin/bash
# Stand up a one-node Slurm cluster on this (Debian) machine and run a
# sharded study on it for real: the array of shards, then the merge.
#
#   sudo examples/slurm/single-node.sh                        # --quick study, 2 shards
#   sudo SHARDS=4 STUDY_ARGS="--tiny" examples/slurm/single-node.sh
#
# Installs slurm-wlm and munge (apt), writes /etc/slurm/slurm.conf for this
# host (all its CPUs and memory, consumable cores so shards share the node),
# starts munged, slurmctld and slurmd without systemd, submits
# examples/slurm/submit.sh and waits for the merge. Not for CI: it changes
# the machine. DL defaults to target/release/dropout-lab.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
[ "$(id -u)" -eq 0 ] || { echo "run as root (it installs packages and starts daemons)" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive
command -v slurmctld >/dev/null && command -v munged >/dev/null \
  || { apt-get update -qq && apt-get install -y -qq slurm-wlm munge >/dev/null; }

# munge: the key and the daemon (it authenticates Slurm's messages).
[ -s /etc/munge/munge.key ] || { mungekey --create 2>/dev/null || dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none; }
chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
mkdir -p /run/munge && chown munge:munge /run/munge
pgrep -x munged >/dev/null || su -s /bin/sh munge -c munged

host=$(hostname -s)
cpus=$(nproc)
mem=$(awk '/MemTotal/ {print int($2 / 1024 * 0.9)}' /proc/meminfo)
mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
cat > /etc/slurm/slurm.conf <<CONF
ClusterName=dropout-lab
SlurmctldHost=$host
SlurmUser=root
AuthType=auth/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=main Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
pgrep -x slurmctld >/dev/null || slurmctld
pgrep -x slurmd >/dev/null || slurmd
for _ in $(seq 60); do
  sinfo -h -o %T 2>/dev/null | grep -qE 'idle|mixed' && break
  sleep 1
done
sinfo

export DL=${DL:-$root/target/release/dropout-lab}
[ -x "$DL" ] || (cd "$root" && cargo build --release)
export SHARDS=${SHARDS:-2} STUDY_ARGS=${STUDY_ARGS:---quick}
# Split the node's CPUs between the shards, so they run at the same time.
export CPUS=${CPUS:-$(( cpus / SHARDS > 0 ? cpus / SHARDS : 1 ))}
work=${WORK:-/tmp/dropout-lab-slurm}
rm -rf "$work" && mkdir -p "$work" && cd "$work"
export CACHE=$work/cache OUT=$work/report
start=$(date +%s)
line=$("$here/submit.sh")
echo "$line"
merge=$(echo "$line" | sed -n 's/.*merge job \([0-9]*\).*/\1/p')
while squeue -h -j "$merge" 2>/dev/null | grep -q .; do sleep 5; done
echo "wall time from submission to the merged report: $(( $(date +%s) - start )) s"
tail -n 3 dropout-study-*.out
cat dropout-merge-*.out
test -s "$OUT/index.html" && echo "report: $OUT/index.html"
