#!/usr/bin/env bash
# RBD benchmark: imaged's rbd store vs the rbd CLI, both ways, side by side in one run, against a
# throwaway one-node Ceph cluster (test/env/ceph.sh, own dir and ports, purged on exit).
# For one 1 GiB random file (page cache), ROUNDS interleaved rounds (the side that goes first alternates):
#   upload:   rbd import --image-format 2 --image-feature layering --object-size 8M FILE images/bench-cli-N
#             vs  curl -T FILE  PUT /v2/images/ID/file   (imaged also computes md5+sha512+xxh3 and
#             creates+protects the snapshot `snap`, like glance_store)
#   download: rbd export images/bench-cli-N - >/dev/null  vs  curl -o /dev/null GET /v2/images/ID/file
# Then, untimed: both stored images are read back once more through md5sum (rbd export | md5sum,
# curl | md5sum), imaged's image must be active with checksum = md5sum, both RBD images must have
# 8 MiB objects and the file's size; both are deleted before the next round.
#   ROUNDS=3 bench/rbd.sh
# Env: ROUNDS, BENCH_FILE (reuse a file), BENCH_TMPDIR (scratch), SUMMARY_OUT (append PASS/FAIL, for run.sh),
#      BENCH_CEPH_DIR (cluster dir, default a fresh /tmp/imaged-bceph.XXXXXX), BENCH_CEPH_MON_PORT (3331),
#      BENCH_CEPH_MON_PORT_V1 (3332; a busy port is replaced by a free one), BENCH_CEPH_MGR (0),
#      IMAGED_CEPH_STORE / IMAGED_CEPH_OSD_SIZE_GB (passed to ceph.sh), KEEP_CEPH=1 (don't purge).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROUNDS=${ROUNDS:-3}
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive integer, got '$ROUNDS'"

need_pkg curl curl
need_pkg rbd ceph-common
need_node
bench_init rbd

CEPH_SH=$REPO_DIR/test/env/ceph.sh
CEPH_DIR=
IMAGED_PID=

# Cleanup: imaged first (it would only retry its connection), then the cluster, then lib.sh's cleanup.
rbd_cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_pid "$IMAGED_PID"
  if [[ ${KEEP_CEPH:-0} == 1 && -n $CEPH_DIR ]]; then
    note "KEEP_CEPH=1: cluster left running in $CEPH_DIR (bash test/env/ceph.sh purge $CEPH_DIR)"
  else
    purge_env "$CEPH_SH" "$CEPH_DIR" ceph
  fi
  set +e # hand rc on to lib.sh's cleanup as $?, which it exits with
  (exit "$rc")
  bench_cleanup
}
trap rbd_cleanup EXIT

port_busy() { ss -Htln "sport = :$1" 2>/dev/null | grep -q .; }

# --- the cluster -------------------------------------------------------------------------------
start_ceph() {
  local p1=${BENCH_CEPH_MON_PORT:-3331} p2=${BENCH_CEPH_MON_PORT_V1:-3332} t0
  if [[ -n ${BENCH_CEPH_DIR:-} ]]; then
    [[ ! -e $BENCH_CEPH_DIR ]] || die "BENCH_CEPH_DIR=$BENCH_CEPH_DIR exists; the benchmark wants a fresh cluster"
    CEPH_DIR=$BENCH_CEPH_DIR
    mkdir -p "$CEPH_DIR"
  else
    CEPH_DIR=$(mktemp -d /tmp/imaged-bceph.XXXXXX)
  fi
  while port_busy "$p1"; do p1=$(free_port); done
  while port_busy "$p2" || [[ $p2 == "$p1" ]]; do p2=$(free_port); done
  note "starting a one-node Ceph cluster in $CEPH_DIR (mon ports $p1/$p2, RGW off, mgr ${BENCH_CEPH_MGR:-0})"
  t0=$SECONDS
  if ! IMAGED_CEPH_MON_PORT=$p1 IMAGED_CEPH_MON_PORT_V1=$p2 IMAGED_CEPH_RGW=0 IMAGED_CEPH_MGR=${BENCH_CEPH_MGR:-0} \
    bash "$CEPH_SH" start "$CEPH_DIR" >"$BENCH_TMP/ceph-start.log" 2>&1; then
    tail -n 40 "$BENCH_TMP/ceph-start.log" >&2
    die "test/env/ceph.sh start $CEPH_DIR failed"
  fi
  # shellcheck disable=SC1091
  source "$CEPH_DIR/env"
  [[ -n ${CEPH_CONF:-} && -f $CEPH_CONF ]] || die "$CEPH_DIR/env has no CEPH_CONF"
  POOL=${CEPH_POOL:-images}
  OSD_PID=$(<"$CEPH_DIR/pids/osd.pid")
  [[ $(tr '\0' ' ' <"/proc/$OSD_PID/cmdline" 2>/dev/null) == "ceph-osd -f -c $CEPH_CONF -i 0 " ]] ||
    die "no ceph-osd of this cluster at pid $OSD_PID"
  STORE_KIND=$(. "$CEPH_DIR/settings" && echo "$STORE")
  note "cluster up in $((SECONDS - t0))s: fsid $CEPH_FSID, OSD pid $OSD_PID ($STORE_KIND), pool $POOL"
}

RBD=()
rbd_cmd() { "${RBD[@]}" "$@"; }

# --- imaged on the rbd store -------------------------------------------------------------------
start_imaged_rbd() {
  ensure_built
  if [[ ! -f $REPO_DIR/build/Release/imaged_rbd.node ]]; then
    note "build/Release/imaged_rbd.node missing: running npm run build"
    (cd "$REPO_DIR" && npm run build >&2) || die "npm run build failed"
    [[ -f $REPO_DIR/build/Release/imaged_rbd.node ]] || die "no imaged_rbd.node after the build (librbd-dev/librados-dev installed?)"
  fi
  local base=$BENCH_TMP/imaged port
  mkdir -p "$base/state"
  port=$(free_port)
  cat >"$base/glance-api.conf" <<EOF
[DEFAULT]
bind_host = 127.0.0.1
bind_port = $port
enabled_backends = ceph:rbd
[glance_store]
default_backend = ceph
[ceph]
rbd_store_pool = $POOL
rbd_store_user = glance
rbd_store_ceph_conf = $CEPH_CONF
rbd_store_chunk_size = 8
[imaged]
state_dir = $base/state
service_uid = $(id -u)
service_gid = $(id -g)
log_level = ${IMAGED_LOG_LEVEL:-warn}
EOF
  IMAGED_URL=http://127.0.0.1:$port
  run_imaged "$base"
  wait_stores 60 ceph
  note "imaged pid $IMAGED_PID at $IMAGED_URL, rbd store connected"
}

# --- helpers ---------------------------------------------------------------------------------------
secs_between() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

# rbd_layout NAME: "SIZE ORDER" of an RBD image.
rbd_layout() {
  rbd_cmd info --format json "$POOL/$1" | node -e '
    const j = JSON.parse(require("fs").readFileSync(0, "utf8")); console.log(j.size, j.order, (j.features || []).join(","));'
}

rbd_export_null() { rbd_cmd export --no-progress "$POOL/$1" - >/dev/null; }

# run_timed OUTVAR CMD...: runs CMD under measure_cmd; also records wall time and the CPU ticks of imaged,
# the OSD and the whole machine. Sets T_SECS, T_IMAGED, T_OSD, T_MACHINE (ticks) besides CMD_*.
run_timed() {
  local b_im b_osd m0 t0 t1 m1 a_im a_osd
  read -r b_im _ <<<"$(proc_snap "$IMAGED_PID")"
  read -r b_osd _ <<<"$(proc_snap "$OSD_PID")"
  m0=$(machine_ticks)
  t0=$(now)
  measure_cmd "$@"
  t1=$(now)
  m1=$(machine_ticks)
  read -r a_im _ <<<"$(proc_snap "$IMAGED_PID")"
  read -r a_osd _ <<<"$(proc_snap "$OSD_PID")"
  T_SECS=$(secs_between "$t0" "$t1")
  T_IMAGED=$((a_im - b_im))
  T_OSD=$((a_osd - b_osd))
  T_MACHINE=$((m1 - m0))
}

RESULTS=$BENCH_TMP/rbd.tsv
printf 'round\tdir\tside\tbytes\tsecs\tclient_cpu_s\tserver_cpu_s\tosd_cpu_s\tother_cpu_s\tverified\n' >"$RESULTS"

# record ROUND DIR SIDE SERVER_TICKS VERIFIED: appends one TSV row from the last run_timed and prints it.
# side cli: client = rbd (its CPU is everything the CLI does), server = 0;
# side imaged: client = curl, server = the imaged node process; other = machine - client - server - OSD.
record() {
  local r=$1 dir=$2 side=$3 server=$4 v=$5
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$r" "$dir" "$side" "$FILE_SIZE" "$T_SECS" \
    "$(ticks_to_s "$CMD_TICKS")" "$(ticks_to_s "$server")" "$(ticks_to_s "$T_OSD")" \
    "$(ticks_to_s $((T_MACHINE - CMD_TICKS - T_IMAGED - T_OSD)))" "$v" >>"$RESULTS"
  tail -n1 "$RESULTS" | awk -F'\t' '{
    who = $3 == "cli" ? sprintf("rbd %5.2f", $6) : sprintf("imaged %5.2f + curl %4.2f", $7, $6)
    printf "  %-8s %-6s round %s: %5.0f MB/s %6.2fs  CPU-s %-22s OSD %5.2f other %5.2f\n", $2, $3, $1, $4 / $5 / 1e6, $5, who, $8, $9 }'
}

upload_cli() {
  local r=$1 name=bench-cli-$1
  run_timed rbd_cmd import --no-progress --image-format 2 --image-feature layering --object-size 8M "$FILE" "$POOL/$name"
  ((CMD_RC == 0)) || die "rbd import (round $r) failed with status $CMD_RC: $CMD_OUT"
  record "$r" upload cli 0 ok
}

upload_imaged() {
  local r=$1 id code sent v=ok status checksum size
  id=$(create_image)
  IMAGED_ID[$r]=$id
  run_timed curl -sS --max-time 900 -o "$BENCH_TMP/put-$r.body" -w '%{http_code} %{size_upload}' \
    -T "$FILE" -H 'Content-Type: application/octet-stream' "$IMAGED_URL/v2/images/$id/file"
  ((CMD_RC == 0)) || die "curl upload (round $r) failed with status $CMD_RC: $CMD_OUT"
  read -r code sent <<<"$CMD_OUT"
  [[ $code == 204 ]] || die "upload (round $r) answered HTTP $code: $(head -c 500 "$BENCH_TMP/put-$r.body")"
  [[ $sent == "$FILE_SIZE" ]] || die "curl sent $sent bytes, not $FILE_SIZE"
  imaged_assert_alive
  status=$(image_field "$id" status)
  checksum=$(image_field "$id" checksum)
  size=$(image_field "$id" size)
  [[ $status == active ]] || { v=FAIL; note "round $r: image status '$status', expected active"; }
  [[ $checksum == "$FILE_MD5" ]] || { v=FAIL; note "round $r: checksum '$checksum' != md5sum $FILE_MD5"; }
  [[ $size == "$FILE_SIZE" ]] || { v=FAIL; note "round $r: size '$size', expected $FILE_SIZE"; }
  record "$r" upload imaged "$T_IMAGED" "$v"
}

download_cli() {
  local r=$1
  run_timed rbd_export_null "bench-cli-$r"
  ((CMD_RC == 0)) || die "rbd export (round $r) failed with status $CMD_RC: $CMD_OUT"
  record "$r" download cli 0 ok
}

download_imaged() {
  local r=$1 code got
  run_timed curl -sS --max-time 900 -o /dev/null -w '%{http_code} %{size_download}' "$IMAGED_URL/v2/images/${IMAGED_ID[$r]}/file"
  ((CMD_RC == 0)) || die "curl download (round $r) failed with status $CMD_RC: $CMD_OUT"
  read -r code got <<<"$CMD_OUT"
  [[ $code == 200 ]] || die "download (round $r) answered HTTP $code"
  [[ $got == "$FILE_SIZE" ]] || die "download (round $r) got $got bytes, not $FILE_SIZE"
  imaged_assert_alive
  record "$r" download imaged "$T_IMAGED" ok
}

# verify_round R: untimed, both sides alike: same layout, and the bytes read back = the file.
verify_round() {
  local r=$1 cli_name=bench-cli-$1 id=${IMAGED_ID[$1]} lc li got snaps
  lc=$(rbd_layout "$cli_name") || die "rbd info $cli_name failed"
  li=$(rbd_layout "$id") || die "rbd info $id (imaged's image) failed"
  [[ ${lc% *} == "$FILE_SIZE 23" ]] || die "round $r: CLI image $cli_name has size/order '${lc% *}', expected '$FILE_SIZE 23'"
  [[ ${li% *} == "$FILE_SIZE 23" ]] || die "round $r: imaged's RBD image $id has size/order '${li% *}', expected '$FILE_SIZE 23'"
  [[ ${lc##* } == "${li##* }" ]] || note "round $r: RBD features differ: CLI '${lc##* }', imaged '${li##* }'"
  snaps=$(rbd_cmd snap ls --format json "$POOL/$id" | node -e 'console.log(JSON.parse(require("fs").readFileSync(0, "utf8")).map((s) => s.name).join(","))')
  [[ $snaps == snap ]] || die "round $r: imaged's RBD image has snapshots '$snaps', expected 'snap'"
  got=$(rbd_cmd export --no-progress "$POOL/$cli_name" - | md5sum | cut -d' ' -f1) || die "rbd export | md5sum failed"
  [[ $got == "$FILE_MD5" ]] || die "round $r: rbd export returned different bytes (md5 $got, file $FILE_MD5)"
  got=$(curl -sS -m 900 "$IMAGED_URL/v2/images/$id/file" | md5sum | cut -d' ' -f1) || die "curl | md5sum failed"
  [[ $got == "$FILE_MD5" ]] || die "round $r: imaged served different bytes (md5 $got, file $FILE_MD5)"
}

delete_round() {
  local r=$1 id=${IMAGED_ID[$1]} code left
  rbd_cmd rm --no-progress "$POOL/bench-cli-$r" >/dev/null 2>&1 || die "rbd rm bench-cli-$r failed"
  code=$(curl -sS -m 120 -o /dev/null -w '%{http_code}' -X DELETE "$IMAGED_URL/v2/images/$id") || die "DELETE failed"
  [[ $code == 204 ]] || die "DELETE /v2/images/$id answered $code"
  left=$(rbd_cmd ls "$POOL" | tr '\n' ' ')
  [[ -z ${left// /} ]] || die "RBD images left in pool $POOL after the deletes: $left"
}

# ================================================================================================
echo "== imaged rbd store vs rbd CLI: 1 GiB, both ways, $ROUNDS interleaved rounds =="
machine_note "the rbd CLI / curl + imaged, the OSD and the mon"
build_note
echo "ceph: $(ceph-osd --version 2>/dev/null | awk '{print $3, $5}'); rbd CLI: rbd import/export with --object-size 8M, --id glance"

bench_file
start_ceph
RBD=(rbd -c "$CEPH_CONF" --id glance)
[[ -z $(rbd_cmd ls "$POOL") ]] || die "pool $POOL of the fresh cluster is not empty"
start_imaged_rbd
echo "cluster: one OSD ($STORE_KIND, $CEPH_DIR), pool $POOL size 1; imaged: rbd_store_chunk_size 8 (8 MiB objects)"

# What a CLI invocation costs before any data moves (process start, conf, auth, maps): part of the CLI's numbers.
for i in 1 2 3; do
  run_timed rbd_cmd ls "$POOL"
  ((CMD_RC == 0)) || die "rbd ls failed: $CMD_OUT"
  echo "$T_SECS $(ticks_to_s "$CMD_TICKS")"
done >"$BENCH_TMP/cli-start.txt"
read -r CLI_START_SECS CLI_START_CPU < <(sort -n "$BENCH_TMP/cli-start.txt" | sed -n 2p)
echo "rbd CLI start-up (median of 3 'rbd ls'): ${CLI_START_SECS}s wall, ${CLI_START_CPU} CPU-s: included in the CLI's numbers"

# What the checksums alone cost (imaged computes md5 and sha512 of every upload, in parallel threads).
hash_floor() {
  local a b
  md5sum "$FILE" >/dev/null &
  a=$!
  sha512sum "$FILE" >/dev/null &
  b=$!
  wait "$a" && wait "$b"
}
cat "$FILE" >/dev/null
run_timed hash_floor
((CMD_RC == 0)) || die "md5sum/sha512sum of $FILE failed"
echo "checksum floor (md5sum and sha512sum of the file at once, coreutils): ${T_SECS}s wall" \
  "($(awk -v b="$FILE_SIZE" -v s="$T_SECS" 'BEGIN { printf "%.0f", b / s / 1e6 }') MB/s), $(ticks_to_s "$CMD_TICKS") CPU-s"

declare -A IMAGED_ID=()
for ((r = 1; r <= ROUNDS; r++)); do
  cat "$FILE" >/dev/null # the source stays in the page cache
  if ((r % 2)); then order=(cli imaged); else order=(imaged cli); fi
  echo "-- round $r (${order[0]} first)"
  for s in "${order[@]}"; do "upload_$s" "$r"; sleep 1; done
  for s in "${order[@]}"; do "download_$s" "$r"; sleep 1; done
  verify_round "$r"
  delete_round "$r"
  sleep 1
done
echo "check: every round, both images had 8 MiB objects and the file's size and read back intact (md5 $FILE_MD5);"
echo "       imaged's images were active with checksum = md5sum and had the protected snapshot 'snap'"

if grep -q '"level":[4-6]' "$IMAGED_LOG" 2>/dev/null; then
  note "imaged logged warnings/errors during the run:"
  grep '"level":[4-6]' "$IMAGED_LOG" | tail -n 5 >&2
fi

echo
node "$BENCH_DIR/rbd-report.mjs" "$RESULTS" "$CLI_START_SECS" "$CLI_START_CPU" ${SUMMARY_OUT:+"$SUMMARY_OUT"}
if grep -qv $'\tok$' <(tail -n +2 "$RESULTS"); then
  die "at least one uploaded image did not verify (see above)"
fi
