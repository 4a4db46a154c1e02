#!/usr/bin/env bash
# Edge benchmark: an edge imaged (image cache, `upstream =` a second imaged with a file store) serving one
# 1 GiB random image, side by side in one run. Per round (the edge cache is cleared before each cold run):
#   (a) cold, 1 client:   GET through the edge → TTFB, TTLB, when the fill finished, bytes read upstream
#   (b) cold, CLIENTS (64) curl processes at once on the same uncached image → bytes read upstream (must be
#       1.0x the image: one fill), TTFB/TTLB p50/max, launch → last byte vs (a), fill time vs (a), aggregate
#       throughput; one client's body goes through md5sum
#   (c) cache hit, 1 client: HIT_RUNS interleaved curl runs, edge vs nginx (sendfile on) serving the edge's
#       very same cache file
# The upstream's stored file is kept in the page cache for every cold run (cat before each), so (a) vs (b)
# is about coalescing, not about the upstream's disk.
#   ROUNDS=3 bench/edge.sh
# Env: ROUNDS, CLIENTS (64), HIT_RUNS (3), CLIENT_TIMEOUT (s per curl, 600), BENCH_FILE (reuse a file),
#      BENCH_TMPDIR (scratch, default /tmp; needs ~3 GiB: the file, the upstream's copy, the edge's cache),
#      SUMMARY_OUT (append the PASS/FAIL lines there).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROUNDS=${ROUNDS:-3}
CLIENTS=${CLIENTS:-64}
HIT_RUNS=${HIT_RUNS:-3}
CLIENT_TIMEOUT=${CLIENT_TIMEOUT:-600}
for v in ROUNDS CLIENTS HIT_RUNS CLIENT_TIMEOUT; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer, got '${!v}'"
done

need_pkg curl curl
need_pkg md5sum coreutils
NGINX=$(find_nginx)
need_node
bench_init edge

echo "== imaged edge benchmark: cold GETs through an edge (1 and $CLIENTS clients), cache hits vs nginx =="
machine_note
echo "$ROUNDS rounds; per round: (a) cold x1, (b) cold x$CLIENTS (curl processes, -o /dev/null; one through md5sum),"
echo "(c) cache hit x1: $HIT_RUNS interleaved curl runs each, nginx and edge on the same cached file"
build_note

bench_file

# --- upstream: a plain imaged (lib.sh's start_imaged); create_image/image_field talk to it ------------------
start_imaged
UP_PID=$IMAGED_PID
UP_URL=$IMAGED_URL
UP_LOG=$IMAGED_LOG
note "upstream is imaged pid $UP_PID at $UP_URL"

# --- edge: own config (image cache + upstream) -----------------------------------------------------------------
EDGE_BASE=$BENCH_TMP/edge
EDGE_CACHE=$EDGE_BASE/cache
mkdir -p "$EDGE_CACHE" "$EDGE_BASE/images" "$EDGE_BASE/state"
EDGE_PORT=$(free_port)
cat >"$EDGE_BASE/glance-api.conf" <<EOF
[DEFAULT]
bind_host = 127.0.0.1
bind_port = $EDGE_PORT
image_cache_dir = $EDGE_CACHE
image_cache_max_size = 4294967296
[glance_store]
default_backend = file
filesystem_store_datadir = $EDGE_BASE/images
[imaged]
state_dir = $EDGE_BASE/state
service_uid = $(id -u)
service_gid = $(id -g)
upstream = $UP_URL
log_level = ${IMAGED_LOG_LEVEL:-warn}
EOF
EDGE_LOG=$EDGE_BASE/imaged.log
EDGE_URL=http://127.0.0.1:$EDGE_PORT
"$REPO_DIR/bin/imaged" --config-file "$EDGE_BASE/glance-api.conf" >"$EDGE_LOG" 2>&1 &
EDGE_PID=$!
BENCH_PIDS+=("$EDGE_PID")
if ! wait_http "$EDGE_URL/healthcheck" 30 "$EDGE_PID" "edge imaged"; then
  tail -n 40 "$EDGE_LOG" >&2 || true
  die "edge imaged did not start (pid $EDGE_PID, $EDGE_URL)"
fi
note "edge is imaged pid $EDGE_PID at $EDGE_URL"

# assert_alive PID LOG WHAT
assert_alive() {
  if ! kill -0 "$1" 2>/dev/null; then
    echo "----- $3 log ($2) -----" >&2
    tail -n 40 "$2" >&2 || true
    die "$3 (pid $1) died"
  fi
}
both_alive() {
  assert_alive "$UP_PID" "$UP_LOG" "upstream imaged"
  assert_alive "$EDGE_PID" "$EDGE_LOG" "edge imaged"
}

# --- the image, on the upstream ---------------------------------------------------------------------------
IMAGE_ID=$(create_image)
code=$(curl -sS -m 600 -o /dev/null -w '%{http_code}' -T "$FILE" -H 'Content-Type: application/octet-stream' \
  "$UP_URL/v2/images/$IMAGE_ID/file") || die "upload to the upstream failed"
[[ $code == 204 ]] || die "upload to the upstream answered HTTP $code"
[[ $(image_field "$IMAGE_ID" status) == active ]] || die "image $IMAGE_ID is not active on the upstream"
[[ $(image_field "$IMAGE_ID" checksum) == "$FILE_MD5" ]] || die "upstream's checksum of $IMAGE_ID is not the file's md5"
UP_STORED=$IMAGED_DATADIR/$IMAGE_ID
[[ -f $UP_STORED ]] || die "upstream's stored image not found at $UP_STORED"
# The edge forwards the Images API: it must show the same image.
edge_status=$(curl -sS -m 30 "$EDGE_URL/v2/images/$IMAGE_ID" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{try{console.log(JSON.parse(s).status)}catch{console.log("?")}})')
[[ $edge_status == active ]] || die "GET /v2/images/$IMAGE_ID through the edge says status '$edge_status'"
echo "image $IMAGE_ID: $FILE_SIZE bytes, md5 $FILE_MD5, uploaded to the upstream"

# --- nginx on the edge's cache file (for (c)) ---------------------------------------------------------------
# The same nginx as download.sh (lib.sh start_nginx), serving
# $EDGE_CACHE/<id> (present from (b) on) at the same URL shape.
start_nginx "$EDGE_CACHE"

FILE_PATH=/v2/images/$IMAGE_ID/file
declare -A URL=([nginx]=$NGINX_URL$FILE_PATH [edge]=$EDGE_URL$FILE_PATH)

# --- helpers -----------------------------------------------------------------------------------------------
# clear_edge_cache: DELETE /v2/cache (cache only), then check that nothing is left.
clear_edge_cache() {
  local code list n
  code=$(curl -sS -m 60 -o /dev/null -w '%{http_code}' -X DELETE -H 'x-image-cache-clear-target: cache' "$EDGE_URL/v2/cache") ||
    die "DELETE /v2/cache on the edge failed"
  [[ $code == 204 ]] || die "DELETE /v2/cache on the edge answered HTTP $code"
  list=$(curl -sS -m 30 "$EDGE_URL/v2/cache") || die "GET /v2/cache on the edge failed"
  n=$(node -e 'console.log(JSON.parse(process.argv[1]).cached_images.length)' "$list") || die "GET /v2/cache: not JSON: $list"
  [[ $n == 0 ]] || die "edge cache not empty after DELETE /v2/cache: $list"
  [[ ! -e $EDGE_CACHE/$IMAGE_ID ]] || die "cache file $EDGE_CACHE/$IMAGE_ID still there after DELETE /v2/cache"
  [[ -z $(ls -A "$EDGE_CACHE/incomplete" 2>/dev/null) ]] || die "an incomplete fill is left in $EDGE_CACHE/incomplete: $(ls "$EDGE_CACHE/incomplete")"
}

# main_ticks PID: CPU ticks (utime+stime) of the main thread alone: for imaged the event loop, which also
# drives every sendfile(2) and reads the fill's upstream response; the rest of proc_snap's total is other
# threads (hash workers, libuv pool: pwrite, readahead).
main_ticks() {
  local st
  st=$(<"/proc/$1/task/$1/stat") || die "process $1 is gone"
  st=${st##*) }
  # shellcheck disable=SC2206
  local f=($st)
  echo $((f[11] + f[12]))
}

RESULTS=$BENCH_TMP/edge.tsv
printf 'round\tphase\tclients\trun\tsecs\tsrv_bytes\tsrv_cpu_s\tup_bytes\tup_cpu_s\tclient_cpu_s\tother_cpu_s\tcode\tttfb_ms\tttlb_ms\tbytes\tjson\tedge_main_cpu_s\n' >"$RESULTS"

# add_row ROUND PHASE CLIENTS RUN T0 T1 M0 M1 SRV_BEFORE SRV_AFTER UP_BEFORE UP_AFTER CODE TTFB_MS TTLB_MS BYTES JSON
#         EDGE_MAIN_TICKS
# (snapshots as printed by proc_snap; CMD_TICKS = the client side's CPU)
add_row() {
  local sb sw ab aw ub uw ua uaw srv_t up_t
  read -r sb sw _ <<<"$9"
  read -r ab aw _ <<<"${10}"
  read -r ub uw _ <<<"${11}"
  read -r ua uaw _ <<<"${12}"
  srv_t=$((ab - sb))
  up_t=$((ua - ub))
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" \
    "$(awk -v a="$5" -v b="$6" 'BEGIN { printf "%.3f", b - a }')" $((aw - sw)) "$(ticks_to_s "$srv_t")" $((uaw - uw)) \
    "$(ticks_to_s "$up_t")" "$(ticks_to_s "$CMD_TICKS")" "$(ticks_to_s $(($8 - $7 - srv_t - up_t - CMD_TICKS)))" \
    "${13}" "${14}" "${15}" "${16}" "${17}" "$(ticks_to_s "${18}")" >>"$RESULTS"
}

# cold_run ROUND PHASE CLIENTS: clears the cache, then CLIENTS concurrent cold GETs through the edge.
cold_run() {
  local r=$1 phase=$2 n=$3 json=$BENCH_TMP/$2-$1.json md5=() sb sa ub ua m0 m1 t0 t1 eb ea
  ((n > 1)) && md5=(--md5)
  clear_edge_cache
  cat "$UP_STORED" >/dev/null # the upstream serves from its page cache in every cold run
  sync
  sleep 0.5
  sb=$(proc_snap "$EDGE_PID")
  eb=$(main_ticks "$EDGE_PID")
  ub=$(proc_snap "$UP_PID")
  m0=$(machine_ticks)
  t0=$(now)
  measure_cmd timeout $((CLIENT_TIMEOUT + 60)) node "$BENCH_DIR/edge-cold.mjs" --url "${URL[edge]}" \
    --cache-url "$EDGE_URL/v2/cache" --image "$IMAGE_ID" --size "$FILE_SIZE" --clients "$n" --up-pid "$UP_PID" \
    --timeout "$CLIENT_TIMEOUT" --out "$json" "${md5[@]}"
  t1=$(now)
  m1=$(machine_ticks)
  sa=$(proc_snap "$EDGE_PID")
  ea=$(main_ticks "$EDGE_PID")
  ua=$(proc_snap "$UP_PID")
  [[ -z $CMD_OUT ]] || note "$CMD_OUT"
  ((CMD_RC == 0)) && [[ -s $json ]] || die "edge-cold.mjs ($phase, round $r) failed with status $CMD_RC"
  add_row "$r" "$phase" "$n" 1 "$t0" "$t1" "$m0" "$m1" "$sb" "$sa" "$ub" "$ua" - - - - "$json" $((ea - eb))
  node "$BENCH_DIR/edge-report.mjs" line "$RESULTS" "$FILE_MD5" || BROKEN+=("$phase round $r")
  both_alive
}

# hit_run ROUND SERVER RUN: one cache-hit GET (the image is cached on the edge) from SERVER.
hit_run() {
  local r=$1 srv=$2 k=$3 pids sb sa ub ua m0 m1 t0 t1 code ttfb ttlb bytes eb ea
  if [[ $srv == nginx ]]; then pids=("${NGINX_PIDS[@]}"); else pids=("$EDGE_PID"); fi
  sb=$(proc_snap "${pids[@]}")
  eb=$(main_ticks "$EDGE_PID")
  ub=$(proc_snap "$UP_PID")
  m0=$(machine_ticks)
  t0=$(now)
  measure_cmd curl -sS -m "$CLIENT_TIMEOUT" -o /dev/null -w '%{http_code} %{time_starttransfer} %{time_total} %{size_download}' "${URL[$srv]}"
  t1=$(now)
  m1=$(machine_ticks)
  sa=$(proc_snap "${pids[@]}")
  ea=$(main_ticks "$EDGE_PID")
  ua=$(proc_snap "$UP_PID")
  ((CMD_RC == 0)) || { BROKEN+=("hit $srv round $r run $k: curl status $CMD_RC: $CMD_OUT"); note "$CMD_OUT"; }
  read -r code ttfb ttlb bytes <<<"${CMD_OUT##*$'\n'}"
  ttfb=$(awk -v s="${ttfb:-0}" 'BEGIN { printf "%.1f", s * 1000 }')
  ttlb=$(awk -v s="${ttlb:-0}" 'BEGIN { printf "%.1f", s * 1000 }')
  add_row "$r" "hit-$srv" 1 "$k" "$t0" "$t1" "$m0" "$m1" "$sb" "$sa" "$ub" "$ua" "${code:-0}" "$ttfb" "$ttlb" "${bytes:-0}" - $((ea - eb))
  node "$BENCH_DIR/edge-report.mjs" line "$RESULTS" "$FILE_MD5" || BROKEN+=("hit $srv round $r run $k")
  both_alive
  kill -0 "$NGINX_PID" 2>/dev/null || die "nginx died"
}

# --- the rounds ----------------------------------------------------------------------------------------------
BROKEN=()
for ((r = 1; r <= ROUNDS; r++)); do
  echo "-- round $r"
  cold_run "$r" cold-1 1
  cold_run "$r" "cold-$CLIENTS" "$CLIENTS"
  # (c): the image is cached now (from (b)). What a cache hit returns, once, untimed:
  [[ -f $EDGE_CACHE/$IMAGE_ID ]] || die "no cache file $EDGE_CACHE/$IMAGE_ID after the cold runs"
  got=$(curl -sS -m "$CLIENT_TIMEOUT" "${URL[edge]}" | md5sum | cut -d' ' -f1) || die "cache-hit GET from the edge failed"
  if [[ $got == "$FILE_MD5" ]]; then
    echo "  round $r cache hit: edge returns the image intact (md5 $got)"
  else
    BROKEN+=("round $r: cache hit returned md5 $got, not $FILE_MD5")
    note "round $r: cache-hit md5 $got != $FILE_MD5"
  fi
  for ((k = 1; k <= HIT_RUNS; k++)); do
    if ((k % 2)); then order=(nginx edge); else order=(edge nginx); fi
    for srv in "${order[@]}"; do
      hit_run "$r" "$srv" "$k"
      sleep 0.5
    done
  done
done

if [[ -s $NGX/logs/error.log ]]; then
  note "nginx error.log:"
  tail -n 5 "$NGX/logs/error.log" >&2
fi
for who in upstream edge; do
  log=$UP_LOG
  [[ $who == edge ]] && log=$EDGE_LOG
  if grep -q '"level":[4-6]' "$log" 2>/dev/null; then
    note "$who imaged logged warnings/errors during the run ($(grep -c '"level":[4-6]' "$log") lines), last ones:"
    grep '"level":[4-6]' "$log" | tail -n 5 >&2
  fi
done

echo
node "$BENCH_DIR/edge-report.mjs" table "$RESULTS" "$FILE_MD5" ${SUMMARY_OUT:+"$SUMMARY_OUT"}
if ((${#BROKEN[@]})); then
  printf 'broken: %s\n' "${BROKEN[@]}" >&2
  die "${#BROKEN[@]} run(s) did not deliver the image intact (see above)"
fi
