#!/usr/bin/env bash
# Runs bench/download.sh and bench/upload.sh on one shared 1 GiB file, then prints a summary.
#   bench/run.sh                      # defaults: DUR=10 ROUNDS=3 (about 5 minutes)
#   DUR=5 ROUNDS=2 bench/run.sh       # quick look
#   BENCH_RBD=1 bench/run.sh          # also bench/rbd.sh (imaged's rbd store vs the rbd CLI; own Ceph cluster)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need_node
bench_init run
started=$SECONDS

export BENCH_FILE=$BENCH_TMP/image.raw
note "creating 1 GiB of random data in $BENCH_FILE (shared by both benchmarks)"
head -c "$GIB" /dev/urandom >"$BENCH_FILE" || die "could not write $BENCH_FILE (need 1 GiB free in ${BENCH_TMPDIR:-/tmp})"
BENCH_FILE_MD5=$(md5sum "$BENCH_FILE" | cut -d' ' -f1)
export BENCH_FILE_MD5
export SUMMARY_OUT=$BENCH_TMP/summary.txt
: >"$SUMMARY_OUT"

dl=0
ul=0
bash "$BENCH_DIR/download.sh" || dl=$?
echo
bash "$BENCH_DIR/upload.sh" || ul=$?
rb=0
if [[ ${BENCH_RBD:-0} == 1 ]]; then
  echo
  bash "$BENCH_DIR/rbd.sh" || rb=$?
fi

echo
echo "================================ SUMMARY ================================"
machine_note
echo "download: imaged vs nginx (sendfile on, tcp_nopush on), 1 GiB from the page cache, DUR=${DUR:-10}s x ROUNDS=${ROUNDS:-3} per c"
echo "upload:   curl -T 1 GiB into imaged, ROUNDS=${ROUNDS:-3}"
[[ ${BENCH_RBD:-0} != 1 ]] || echo "rbd:      imaged's rbd store vs rbd import/export, 1 GiB both ways, ROUNDS=${ROUNDS:-3}"
cat "$SUMMARY_OUT"
((dl == 0)) || echo "download.sh FAILED (exit $dl): see its output above"
((ul == 0)) || echo "upload.sh FAILED (exit $ul): see its output above"
((rb == 0)) || echo "rbd.sh FAILED (exit $rb): see its output above"
echo "targets are informational: PASS/FAIL above does not change the exit status; a broken run does."
echo "total time: $((SECONDS - started))s"
((dl == 0 && ul == 0 && rb == 0))
