#!/usr/bin/env bash
# copy-image benchmark: imaged's copy-image between stores vs the same copy done with the stores' own CLIs,
# side by side in one run, against a throwaway one-node Ceph with RGW (test/env/ceph.sh) and an all-in-one
# Swift (test/env/swift.sh), both in their own dirs on non-default ports, purged on exit.
# For one 1 GiB random file (page cache warm), ROUNDS interleaved rounds (the side that goes first alternates):
#   file->rbd:   copy-image local->ceph  vs  rbd import --image-format 2 --image-feature layering --object-size 8M
#   rbd->s3:     copy-image ceph->s3     vs  rbd export images/<the same source image> - | s3cmd put - (10 MiB parts)
#   file->swift: copy-image local->swift vs  swift upload (one PUT: imaged does not segment a 1 GiB object)
# imaged's time = POST /import .. the first GET (every 50 ms) that lists the target store. The source images
# (PUT /file with X-Image-Meta-Store: local or ceph) are uploaded untimed. Then, untimed: each copy is checked
# (the source location is deleted with DELETE /v2/stores/<source>/ID, GET /file must then give the file's md5),
# the CLI copies' sizes (and Swift's ETag) are checked, and everything is deleted before the next round.
#   ROUNDS=2 bench/import.sh
# Env: ROUNDS (2), BENCH_FILE / BENCH_FILE_MD5 (reuse a file), BENCH_TMPDIR (scratch, needs ~3 GiB),
#      COPY_TIMEOUT (600 s per copy), BENCH_VERIFY_CLI=1 (also md5 the CLI copies), KEEP_CLUSTERS=1 (don't purge),
#      BENCH_PERF=1 (perf record imaged during each copy and print its top symbols; needs perf),
#      BENCH_SWIFT_SEGMENT_MB (0 = no segmentation, as imaged's defaults for 1 GiB; N > 0: imaged gets
#      swift_store_large_object_size = swift_store_large_object_chunk_size = N and the CLI --segment-size N MiB),
#      BENCH_CEPH_OSD_SIZE_GB (30, sparse), BENCH_CEPH_MGR (0). Ports: Ceph mon 3341/3342, RGW 7491, Swift proxy
#      8098, object/container/account 6220-6222, memcached 11321; any that is busy is replaced by a free one.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROUNDS=${ROUNDS:-2}
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive integer, got '$ROUNDS'"
COPY_TIMEOUT=${COPY_TIMEOUT:-600}
[[ $COPY_TIMEOUT =~ ^[1-9][0-9]*$ ]] || die "COPY_TIMEOUT must be a positive integer (seconds)"
SEG_MB=${BENCH_SWIFT_SEGMENT_MB:-0}
[[ $SEG_MB =~ ^[0-9]+$ ]] || die "BENCH_SWIFT_SEGMENT_MB must be a non-negative integer"
CLI_TIMEOUT=900

need_pkg curl curl
need_pkg rbd ceph-common
need_pkg s3cmd s3cmd
need_pkg swift python3-swiftclient
need_node
[[ ${BENCH_PERF:-0} != 1 ]] || command -v perf >/dev/null 2>&1 || die "BENCH_PERF=1 needs perf (Debian: linux-perf)"
bench_init import

CEPH_SH=$REPO_DIR/test/env/ceph.sh
SWIFT_SH=$REPO_DIR/test/env/swift.sh
CEPH_DIR=
SWIFT_DIR=
IMAGED_PID=

# Cleanup: imaged first (it would only retry its connections), then both clusters, then lib.sh's cleanup.
import_cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_pid "$IMAGED_PID"
  if [[ ${KEEP_CLUSTERS:-0} == 1 ]]; then
    [[ -z $CEPH_DIR ]] || note "KEEP_CLUSTERS=1: Ceph left running in $CEPH_DIR (bash test/env/ceph.sh purge $CEPH_DIR)"
    [[ -z $SWIFT_DIR ]] || note "KEEP_CLUSTERS=1: Swift left running in $SWIFT_DIR (bash test/env/swift.sh purge $SWIFT_DIR)"
  else
    purge_env "$CEPH_SH" "$CEPH_DIR" ceph
    purge_env "$SWIFT_SH" "$SWIFT_DIR" swift
  fi
  [[ -z $IMAGED_PID ]] || rm -f "/tmp/perf-$IMAGED_PID.map"
  set +e # hand rc on to lib.sh's cleanup as $?, which it exits with
  (exit "$rc")
  bench_cleanup
}
trap import_cleanup EXIT

port_busy() { ss -Htln "sport = :$1" 2>/dev/null | grep -q .; }
PICKED=" "
# pick_port VAR DEFAULT: DEFAULT unless it is busy or already picked, else a free port.
pick_port() {
  local p=$2
  while port_busy "$p" || [[ $PICKED == *" $p "* ]]; do p=$(free_port); done
  PICKED+="$p "
  printf -v "$1" '%s' "$p"
}

# --- the clusters (started in parallel) ----------------------------------------------------------
start_clusters() {
  local mon1 mon2 rgw proxy obj cont acct memc t0 cpid spid
  pick_port mon1 3341
  pick_port mon2 3342
  pick_port rgw 7491
  pick_port proxy 8098
  pick_port obj 6220
  pick_port cont 6221
  pick_port acct 6222
  pick_port memc 11321
  CEPH_DIR=$(mktemp -d /tmp/imaged-bic.XXXXXX)
  SWIFT_DIR=$(mktemp -d /tmp/imaged-bis.XXXXXX)
  note "starting Ceph (mon $mon1/$mon2, RGW $rgw) in $CEPH_DIR and Swift (proxy $proxy, servers $obj/$cont/$acct, memcached $memc) in $SWIFT_DIR"
  t0=$SECONDS
  IMAGED_CEPH_MON_PORT=$mon1 IMAGED_CEPH_MON_PORT_V1=$mon2 IMAGED_CEPH_RGW_PORT=$rgw IMAGED_CEPH_RGW=1 \
    IMAGED_CEPH_MGR=${BENCH_CEPH_MGR:-0} IMAGED_CEPH_OSD_SIZE_GB=${BENCH_CEPH_OSD_SIZE_GB:-30} \
    bash "$CEPH_SH" start "$CEPH_DIR" >"$BENCH_TMP/ceph-start.log" 2>&1 &
  cpid=$!
  IMAGED_SWIFT_PROXY_PORT=$proxy IMAGED_SWIFT_OBJECT_PORT=$obj IMAGED_SWIFT_CONTAINER_PORT=$cont \
    IMAGED_SWIFT_ACCOUNT_PORT=$acct IMAGED_SWIFT_MEMCACHED_PORT=$memc \
    bash "$SWIFT_SH" start "$SWIFT_DIR" >"$BENCH_TMP/swift-start.log" 2>&1 &
  spid=$!
  if ! wait "$cpid"; then
    wait "$spid" || true
    tail -n 40 "$BENCH_TMP/ceph-start.log" >&2
    die "test/env/ceph.sh start $CEPH_DIR failed"
  fi
  if ! wait "$spid"; then
    tail -n 40 "$BENCH_TMP/swift-start.log" >&2
    die "test/env/swift.sh start $SWIFT_DIR failed"
  fi
  # ceph.sh's env also has SWIFT_* (RGW's Swift API): read it first, swift.sh's env overrides them.
  # shellcheck disable=SC1091
  source "$CEPH_DIR/env"
  # shellcheck disable=SC1091
  source "$SWIFT_DIR/env"
  [[ -n ${CEPH_CONF:-} && -f $CEPH_CONF ]] || die "$CEPH_DIR/env has no CEPH_CONF"
  [[ -n ${S3_ENDPOINT:-} && -n ${S3_ACCESS_KEY:-} ]] || die "$CEPH_DIR/env has no S3 settings (RGW off?)"
  [[ $SWIFT_AUTH_URL == *":$proxy/"* ]] || die "$SWIFT_DIR/env points at $SWIFT_AUTH_URL, not at port $proxy"
  POOL=${CEPH_POOL:-images}
  OSD_PID=$(<"$CEPH_DIR/pids/osd.pid")
  RGW_PID=$(<"$CEPH_DIR/pids/rgw.pid")
  [[ $(tr '\0' ' ' <"/proc/$OSD_PID/cmdline" 2>/dev/null) == "ceph-osd -f -c $CEPH_CONF -i 0 " ]] ||
    die "no ceph-osd of this cluster at pid $OSD_PID"
  [[ $(tr '\0' ' ' <"/proc/$RGW_PID/cmdline" 2>/dev/null) == "radosgw -f -c $CEPH_CONF -n client.rgw.a " ]] ||
    die "no radosgw of this cluster at pid $RGW_PID"
  SWIFT_PIDS=()
  local n p
  for n in proxy object container account; do
    p=$(<"$SWIFT_DIR/run/$n.pid")
    [[ $(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null) == *"swift-$n-server $SWIFT_DIR/etc/$n-server.conf"* ]] ||
      die "no swift-$n-server of this Swift at pid $p"
    SWIFT_PIDS+=("$p")
  done
  STORE_KIND=$(. "$CEPH_DIR/settings" && echo "$STORE")
  note "clusters up in $((SECONDS - t0))s: OSD pid $OSD_PID ($STORE_KIND), RGW pid $RGW_PID at $S3_ENDPOINT, Swift pids ${SWIFT_PIDS[*]} at $SWIFT_AUTH_URL"
}

RBD=()
rbd_cmd() { "${RBD[@]}" "$@"; }
S3CMD=()
s3_cmd() { "${S3CMD[@]}" "$@"; }
SWIFTCLI=()
swift_cmd() { "${SWIFTCLI[@]}" "$@"; }
CLI_BUCKET=imaged-cli
CLI_CONTAINER=imaged-cli
IMAGED_BUCKET=glance-bench
IMAGED_CONTAINER=glance

setup_clis() {
  RBD=(rbd -c "$CEPH_CONF" --id glance)
  cat >"$BENCH_TMP/s3cfg" <<EOF
[default]
access_key = $S3_ACCESS_KEY
secret_key = $S3_SECRET_KEY
host_base = ${S3_ENDPOINT#http://}
host_bucket = ${S3_ENDPOINT#http://}
bucket_location = ${S3_REGION:-us-east-1}
use_https = False
signature_v2 = False
multipart_chunk_size_mb = 10
progress_meter = False
EOF
  S3CMD=(s3cmd -c "$BENCH_TMP/s3cfg")
  SWIFTCLI=(swift -A "$SWIFT_AUTH_URL" -U "$SWIFT_USER" -K "$SWIFT_KEY")
  # the CLI's bucket and container exist before the runs (imaged creates its own on the first put)
  s3_cmd mb "s3://$CLI_BUCKET" >"$BENCH_TMP/s3-mb.log" 2>&1 || { cat "$BENCH_TMP/s3-mb.log" >&2; die "s3cmd mb s3://$CLI_BUCKET failed"; }
  swift_cmd post "$CLI_CONTAINER" >"$BENCH_TMP/swift-post.log" 2>&1 || { cat "$BENCH_TMP/swift-post.log" >&2; die "swift post $CLI_CONTAINER failed"; }
}

# --- imaged on all four stores ------------------------------------------------------------------
start_imaged_multi() {
  ensure_built
  if [[ ! -f $REPO_DIR/build/Release/imaged_rbd.node ]]; then
    note "build/Release/imaged_rbd.node missing: running npm run build"
    (cd "$REPO_DIR" && npm run build >&2) || die "npm run build failed"
    [[ -f $REPO_DIR/build/Release/imaged_rbd.node ]] || die "no imaged_rbd.node after the build (librbd-dev/librados-dev installed?)"
  fi
  local base=$BENCH_TMP/imaged port seg=""
  mkdir -p "$base/local" "$base/state"
  LOCAL_DIR=$base/local
  port=$(free_port)
  ((SEG_MB == 0)) || seg=$'\n'"swift_store_large_object_size = $SEG_MB"$'\n'"swift_store_large_object_chunk_size = $SEG_MB"
  cat >"$base/glance-api.conf" <<EOF
[DEFAULT]
bind_host = 127.0.0.1
bind_port = $port
enabled_backends = local:file, ceph:rbd, s3:s3, swift:swift
enabled_import_methods = [glance-direct,web-download,copy-image]
[glance_store]
default_backend = local
[local]
filesystem_store_datadir = $LOCAL_DIR
[ceph]
rbd_store_pool = $POOL
rbd_store_user = glance
rbd_store_ceph_conf = $CEPH_CONF
[s3]
s3_store_host = $S3_ENDPOINT
s3_store_access_key = $S3_ACCESS_KEY
s3_store_secret_key = $S3_SECRET_KEY
s3_store_bucket = $IMAGED_BUCKET
s3_store_create_bucket_on_put = true
s3_store_region_name = ${S3_REGION:-}
[swift]
swift_store_auth_address = $SWIFT_AUTH_URL
swift_store_user = $SWIFT_USER
swift_store_key = $SWIFT_KEY
swift_store_auth_version = 1
swift_store_container = $IMAGED_CONTAINER
swift_store_create_container_on_put = true$seg
[imaged]
state_dir = $base/state
service_uid = $(id -u)
service_gid = $(id -g)
log_level = ${IMAGED_LOG_LEVEL:-warn}
EOF
  IMAGED_URL=http://127.0.0.1:$port
  run_imaged "$base"
  wait_stores 90 local ceph s3 swift
  note "imaged pid $IMAGED_PID at $IMAGED_URL, stores local, ceph, s3, swift available"
}

# upload_source STORE: a fresh image with the file uploaded into STORE (untimed); prints its id.
upload_source() {
  local id code
  id=$(create_image)
  code=$(curl -sS --max-time "$CLI_TIMEOUT" -o "$BENCH_TMP/put.body" -w '%{http_code}' -T "$FILE" \
    -H 'Content-Type: application/octet-stream' -H "X-Image-Meta-Store: $1" "$IMAGED_URL/v2/images/$id/file") ||
    die "upload of the source image into $1 failed"
  [[ $code == 204 ]] || die "upload of the source image into $1 answered HTTP $code: $(head -c 500 "$BENCH_TMP/put.body")"
  [[ $(image_field "$id" status) == active ]] || die "source image $id ($1) is not active after its upload"
  [[ $(image_field "$id" checksum) == "$FILE_MD5" ]] || die "source image $id ($1) has checksum $(image_field "$id" checksum), not $FILE_MD5"
  [[ $(image_field "$id" stores) == "$1" ]] || die "source image $id lists stores '$(image_field "$id" stores)', not '$1'"
  echo "$id"
}

# --- timing and CPU accounting -------------------------------------------------------------------
secs_between() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

# thread_snap PID: "TID COMM TICKS" per live thread.
thread_snap() {
  local t st rest comm
  for t in /proc/"$1"/task/*; do
    { st=$(<"$t/stat"); } 2>/dev/null || continue
    comm=${st#*(}
    comm=${comm%%)*}
    rest=${st##*) }
    # shellcheck disable=SC2206
    local f=($rest)
    echo "${t##*/} ${comm// /_} $((f[11] + f[12]))"
  done
}

# run_timed CMD...: measure_cmd CMD, plus wall time and the CPU ticks of imaged (and its threads), the OSD,
# RGW, the Swift servers and the whole machine. Sets T_SECS, T_IMAGED, T_OSD, T_RGW, T_SWIFT, T_MACHINE, T_THREADS.
run_timed() {
  local b_im b_osd b_rgw b_sw m0 t0 t1 m1 a_im a_osd a_rgw a_sw th0 th1
  th0=$(thread_snap "$IMAGED_PID")
  read -r b_im _ <<<"$(proc_snap "$IMAGED_PID")"
  read -r b_osd _ <<<"$(proc_snap "$OSD_PID")"
  read -r b_rgw _ <<<"$(proc_snap "$RGW_PID")"
  read -r b_sw _ <<<"$(proc_snap "${SWIFT_PIDS[@]}")"
  m0=$(machine_ticks)
  t0=$(now)
  measure_cmd "$@"
  t1=$(now)
  m1=$(machine_ticks)
  read -r a_im _ <<<"$(proc_snap "$IMAGED_PID")"
  read -r a_osd _ <<<"$(proc_snap "$OSD_PID")"
  read -r a_rgw _ <<<"$(proc_snap "$RGW_PID")"
  read -r a_sw _ <<<"$(proc_snap "${SWIFT_PIDS[@]}")"
  th1=$(thread_snap "$IMAGED_PID")
  T_SECS=$(secs_between "$t0" "$t1")
  T_IMAGED=$((a_im - b_im))
  T_OSD=$((a_osd - b_osd))
  T_RGW=$((a_rgw - b_rgw))
  T_SWIFT=$((a_sw - b_sw))
  T_MACHINE=$((m1 - m0))
  # imaged's CPU by thread: the main thread (event loop), other threads named "node" (libuv pool, V8),
  # Ceph's threads (librados/librbd: msgr-worker-*, tp_librbd, ...) and threads that exited meanwhile
  # (the sha512 hash worker of a copy ends with it).
  T_THREADS=$(awk -v pid="$IMAGED_PID" -v total="$T_IMAGED" -v hz="$CLK_TCK" '
    NR == FNR { before[$1] = $3; next }
    { d = $3 - ($1 in before ? before[$1] : 0); live += d
      if ($1 == pid) main += d; else if ($2 == "node") nodet += d; else { ceph += d; by[$2] += d } }
    END {
      top = ""; for (c in by) if (by[c] >= 0.05 * hz) top = top sprintf(" %s %.2f", c, by[c] / hz)
      printf "main %.2f, node threads %.2f, ceph threads %.2f,%s exited threads %.2f", main / hz, nodet / hz, ceph / hz,
        (top == "" ? "" : " (" substr(top, 2) ")"), (total - live) / hz }' <(echo "$th0") <(echo "$th1"))
}

RESULTS=$BENCH_TMP/import.tsv
VERIFY=$BENCH_TMP/verify.tsv
printf 'round\tpath\tside\tbytes\tsecs\twindow_s\tside_cpu_s\tclient_cpu_s\tosd_cpu_s\trgw_cpu_s\tswift_cpu_s\tother_cpu_s\tok\tnote\n' >"$RESULTS"
printf 'round\tpath\tcheck\tresult\n' >"$VERIFY"

# record ROUND PATH SIDE SECS SIDE_TICKS CLIENT_TICKS OK NOTE: one TSV row from the last run_timed, printed.
record() {
  local r=$1 path=$2 side=$3 secs=$4 sideT=$5 clientT=$6 ok=$7 notes=$8
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$r" "$path" "$side" "$FILE_SIZE" "$secs" "$T_SECS" \
    "$(ticks_to_s "$sideT")" "$(ticks_to_s "$clientT")" "$(ticks_to_s "$T_OSD")" "$(ticks_to_s "$T_RGW")" \
    "$(ticks_to_s "$T_SWIFT")" "$(ticks_to_s $((T_MACHINE - CMD_TICKS - T_IMAGED - T_OSD - T_RGW - T_SWIFT)))" \
    "$ok" "${notes//$'\t'/ }" >>"$RESULTS"
  tail -n1 "$RESULTS" | awk -F'\t' '{
    if ($13 != "ok") { printf "  %-10s %-6s round %s: FAILED after %.2fs: %s\n", $2, $3, $1, $5, $14; exit }
    printf "  %-10s %-6s round %s: %5.0f MB/s %6.2fs  CPU-s %s %5.2f  OSD %5.2f RGW %5.2f Swift %5.2f other %5.2f\n",
      $2, $3, $1, $4 / $5 / 1e6, $5, $3 == "cli" ? "CLI   " : "imaged", $7, $9, $10, $11, $12 }'
}

# imaged side: copy-image of image ID into STORE, timed by import-copy.mjs.
copy_imaged() {
  local r=$1 path=$2 id=$3 store=$4 ok secs why perfpid="" pdata=$BENCH_TMP/perf-$r-${path//->/-}.data
  if [[ ${BENCH_PERF:-0} == 1 ]]; then
    perf record -q -e cpu-clock -F 499 -p "$IMAGED_PID" -o "$pdata" >"$BENCH_TMP/perf.log" 2>&1 &
    perfpid=$!
    BENCH_PIDS+=("$perfpid")
    sleep 0.5
  fi
  run_timed node "$BENCH_DIR/import-copy.mjs" "$IMAGED_URL" "$id" "$store" "$COPY_TIMEOUT"
  if [[ -n $perfpid ]]; then
    kill -INT "$perfpid" 2>/dev/null || true
    wait "$perfpid" 2>/dev/null || true
    forget_pid "$perfpid"
  fi
  ((CMD_RC == 0)) || die "import-copy.mjs failed with status $CMD_RC: $CMD_OUT"
  read -r ok secs why < <(node -e '
    const j = JSON.parse(process.argv[1].trim().split("\n").pop());
    console.log(j.ok ? "ok" : "FAIL", j.secs, j.ok ? `POST answered in ${j.accepted_ms} ms, ${j.polls} polls` : j.why);' "$CMD_OUT") ||
    die "import-copy.mjs printed no result: $CMD_OUT"
  imaged_assert_alive
  record "$r" "$path" imaged "$secs" "$T_IMAGED" "$CMD_TICKS" "$ok" "$why"
  [[ $ok == ok ]] && echo "             imaged threads: $T_THREADS"
  if [[ -n $perfpid && -s $pdata ]]; then
    echo "             imaged perf (cpu-clock samples, self, >= 2%):"
    perf report -i "$pdata" --no-children --sort dso,sym --stdio --percent-limit 2 2>/dev/null |
      awk '/^ *[0-9.]+%/ { sub(/^ +/, ""); print "               " $0 }' | head -n 15
    rm -f "$pdata"
  fi
  COPY_OK[$path]=$ok
}

cli_file_rbd() {
  timeout "$CLI_TIMEOUT" "${RBD[@]}" import --no-progress --image-format 2 --image-feature layering --object-size 8M \
    "$FILE" "$POOL/cli-$1"
}
cli_rbd_s3() {
  set -o pipefail
  timeout "$CLI_TIMEOUT" "${RBD[@]}" export --no-progress "$POOL/$2" - |
    timeout "$CLI_TIMEOUT" "${S3CMD[@]}" put --no-progress --mime-type=application/octet-stream - "s3://$CLI_BUCKET/cli-$1"
}
cli_file_swift() {
  local seg=()
  ((SEG_MB == 0)) || seg=(--segment-size $((SEG_MB << 20)) --segment-threads 1 --segment-container "$CLI_CONTAINER")
  timeout "$CLI_TIMEOUT" "${SWIFTCLI[@]}" upload --skip-container-put "${seg[@]}" --object-name "cli-$1" "$CLI_CONTAINER" "$FILE"
}

copy_cli() {
  local r=$1 path=$2 src=$3 fn
  fn=cli_${path//->/_}
  run_timed "$fn" "$r" "$src"
  if ((CMD_RC != 0)); then
    record "$r" "$path" cli "$T_SECS" "$CMD_TICKS" 0 FAIL "status $CMD_RC: $(tail -c 300 <<<"$CMD_OUT" | tr '\n' ' ')"
  else
    record "$r" "$path" cli "$T_SECS" "$CMD_TICKS" 0 ok "-"
  fi
}

vcheck() { # ROUND PATH CHECK RESULT
  printf '%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$VERIFY"
  [[ $4 == ok ]] || note "round $1 $2: $3: $4"
}

# verify_imaged ROUND PATH ID SOURCE TARGET: untimed. The source location is removed (DELETE /v2/stores/SOURCE/ID),
# so GET /file can only be served from TARGET; it must give the file's md5.
verify_imaged() {
  local r=$1 path=$2 id=$3 src=$4 dst=$5 stores code got failed
  if [[ ${COPY_OK[$path]:-} != ok ]]; then
    vcheck "$r" "$path" "imaged copy" "not checked: the copy failed"
    return
  fi
  stores=$(image_field "$id" stores)
  failed=$(image_field "$id" os_glance_failed_import)
  [[ ,$stores, == *,"$dst",* && -z $failed ]] && vcheck "$r" "$path" "image lists $dst" ok ||
    vcheck "$r" "$path" "image lists $dst" "stores '$stores', failed '$failed'"
  code=$(curl -sS -m 120 -o "$BENCH_TMP/del.body" -w '%{http_code}' -X DELETE "$IMAGED_URL/v2/stores/$src/$id") || code=000
  if [[ $code != 204 ]]; then
    vcheck "$r" "$path" "DELETE /v2/stores/$src/ID" "HTTP $code: $(head -c 300 "$BENCH_TMP/del.body")"
    return
  fi
  stores=$(image_field "$id" stores)
  [[ $stores == "$dst" ]] || { vcheck "$r" "$path" "stores after removing $src" "'$stores', expected '$dst'"; return; }
  got=$(curl -sS -m "$CLI_TIMEOUT" "$IMAGED_URL/v2/images/$id/file" | md5sum | cut -d' ' -f1) || got="curl failed"
  [[ $got == "$FILE_MD5" ]] && vcheck "$r" "$path" "GET /file from $dst = md5" ok ||
    vcheck "$r" "$path" "GET /file from $dst = md5" "got $got, file $FILE_MD5"
}

# verify_cli ROUND: untimed; sizes (and Swift's ETag = md5 of a single PUT); with BENCH_VERIFY_CLI=1 md5 of all.
verify_cli() {
  local r=$1 v got
  v=$(rbd_cmd info --format json "$POOL/cli-$r" 2>/dev/null | node -e '
    const j = JSON.parse(require("fs").readFileSync(0, "utf8")); console.log(j.size, j.order);') || v="rbd info failed"
  [[ $v == "$FILE_SIZE 23" ]] && vcheck "$r" "file->rbd" "CLI image size, 8 MiB objects" ok ||
    vcheck "$r" "file->rbd" "CLI image size, 8 MiB objects" "size/order '$v'"
  v=$(s3_cmd info "s3://$CLI_BUCKET/cli-$r" 2>&1 | awk -F': *' '/File size/ { print $2 }') || true
  [[ $v == "$FILE_SIZE" ]] && vcheck "$r" "rbd->s3" "CLI object size" ok || vcheck "$r" "rbd->s3" "CLI object size" "'$v'"
  v=$(swift_cmd stat "$CLI_CONTAINER" "cli-$r" 2>&1 | awk -F': *' '$1 ~ /Content Length/ { s = $2 } $1 ~ /ETag/ { e = $2 } END { print s, e }') || true
  if ((SEG_MB == 0)); then
    [[ $v == "$FILE_SIZE $FILE_MD5" ]] && vcheck "$r" "file->swift" "CLI object size, ETag = md5" ok ||
      vcheck "$r" "file->swift" "CLI object size, ETag = md5" "'$v'"
  else
    [[ ${v% *} == "$FILE_SIZE" ]] && vcheck "$r" "file->swift" "CLI object size" ok || vcheck "$r" "file->swift" "CLI object size" "'$v'"
  fi
  [[ ${BENCH_VERIFY_CLI:-0} == 1 ]] || return 0
  got=$(rbd_cmd export --no-progress "$POOL/cli-$r" - | md5sum | cut -d' ' -f1)
  [[ $got == "$FILE_MD5" ]] && vcheck "$r" "file->rbd" "CLI copy md5" ok || vcheck "$r" "file->rbd" "CLI copy md5" "$got"
  got=$(s3_cmd get --no-progress "s3://$CLI_BUCKET/cli-$r" - | md5sum | cut -d' ' -f1)
  [[ $got == "$FILE_MD5" ]] && vcheck "$r" "rbd->s3" "CLI copy md5" ok || vcheck "$r" "rbd->s3" "CLI copy md5" "$got"
  got=$(swift_cmd download "$CLI_CONTAINER" "cli-$r" -o - | md5sum | cut -d' ' -f1)
  [[ $got == "$FILE_MD5" ]] && vcheck "$r" "file->swift" "CLI copy md5" ok || vcheck "$r" "file->swift" "CLI copy md5" "$got"
}

# delete_round R IDS...: all of the round's images and CLI copies; the pool, bucket, container and datadir must be empty.
delete_round() {
  local r=$1 id code left
  shift
  for id in "$@"; do
    code=$(curl -sS -m 300 -o "$BENCH_TMP/del.body" -w '%{http_code}' -X DELETE "$IMAGED_URL/v2/images/$id") || code=000
    [[ $code == 204 ]] || die "DELETE /v2/images/$id answered $code: $(head -c 300 "$BENCH_TMP/del.body")"
  done
  rbd_cmd rm --no-progress "$POOL/cli-$r" >/dev/null 2>&1 || note "rbd rm cli-$r failed"
  s3_cmd del "s3://$CLI_BUCKET/cli-$r" >/dev/null 2>&1 || note "s3cmd del cli-$r failed"
  swift_cmd delete "$CLI_CONTAINER" "cli-$r" >/dev/null 2>&1 || note "swift delete cli-$r failed"
  left=$(rbd_cmd ls "$POOL" | tr '\n' ' ')
  [[ -z ${left// /} ]] || die "RBD images left in pool $POOL after the deletes: $left"
  left=$( { s3_cmd ls "s3://$IMAGED_BUCKET"; s3_cmd ls "s3://$CLI_BUCKET"; } 2>/dev/null | awk '{ print $NF }' | tr '\n' ' ')
  [[ -z ${left// /} ]] || die "S3 objects left after the deletes: $left"
  left=$( { swift_cmd list "$IMAGED_CONTAINER"; swift_cmd list "$CLI_CONTAINER"; } 2>/dev/null | tr '\n' ' ')
  [[ -z ${left// /} ]] || die "Swift objects left after the deletes: $left"
  left=$(find "$LOCAL_DIR" -mindepth 1 -maxdepth 1 | tr '\n' ' ')
  [[ -z ${left// /} ]] || die "files left in the local store after the deletes: $left"
  # RGW only queues deleted objects' data for GC (hours later): reclaim it now so the OSD does not fill up.
  timeout 300 radosgw-admin -c "$CEPH_CONF" -n client.admin gc process --include-all >/dev/null 2>&1 ||
    note "radosgw-admin gc process failed (the OSD keeps the deleted S3 data)"
}

# median of 3 runs of a cheap CLI call: what a CLI invocation costs before any data moves.
cli_startup() { # LABEL CMD...
  local i
  for i in 1 2 3; do
    run_timed "${@:2}"
    ((CMD_RC == 0)) || die "$1 failed: $CMD_OUT"
    echo "$T_SECS $(ticks_to_s "$CMD_TICKS")"
  done | sort -n | sed -n 2p
}

# ================================================================================================
echo "== copy-image between stores vs the stores' CLIs: 1 GiB, $ROUNDS interleaved rounds =="
machine_note "imaged or the CLIs, the OSD, RGW and the Swift servers all"
build_note
echo "tools: ceph $(ceph-osd --version 2>/dev/null | awk '{print $3}'), $(s3cmd --version 2>&1), python-swiftclient $(swift --version 2>&1 | awk '{print $NF}'), swift $(/usr/bin/python3 -c 'import swift; print(swift.__version__)' 2>/dev/null || echo '?')"

bench_file
start_clusters
setup_clis
start_imaged_multi
[[ -z $(rbd_cmd ls "$POOL") ]] || die "pool $POOL of the fresh cluster is not empty"
if ((SEG_MB == 0)); then SEG_DESC="one PUT per object on both sides (imaged segments only above swift_store_large_object_size = 5120 MiB; the CLI without --segment-size)"; else SEG_DESC="$SEG_MB MiB segments + DLO manifest on both sides (CLI: --segment-size $((SEG_MB << 20)) --segment-threads 1)"; fi
echo "clusters: Ceph one OSD ($STORE_KIND), pool $POOL size 1, RGW (beast) at $S3_ENDPOINT; Swift all-in-one (proxy + 3 servers, workers 0, tempauth) at ${SWIFT_AUTH_URL%/auth*}"
echo "imaged: stores local (file), ceph (rbd, 8 MiB objects), s3 (RGW, multipart above 100 MiB in 10 MiB parts, up to 10 at once), swift (auth v1)"
echo "CLIs: rbd import --object-size 8M; rbd export | s3cmd put - (multipart, 10 MiB parts, one at a time); swift upload: $SEG_DESC"

read -r RBD_START_S RBD_START_CPU < <(cli_startup "rbd ls" rbd_cmd ls "$POOL") || true
read -r S3_START_S S3_START_CPU < <(cli_startup "s3cmd ls" s3_cmd ls "s3://$CLI_BUCKET") || true
read -r SW_START_S SW_START_CPU < <(cli_startup "swift stat" swift_cmd stat "$CLI_CONTAINER") || true
[[ -n $RBD_START_CPU && -n $S3_START_CPU && -n $SW_START_CPU ]] || die "a CLI start-up measurement failed (see above)"
echo "CLI start-up (median of 3; in the CLI's raw numbers, subtracted in the report's 'excl. start-up' columns): rbd ls ${RBD_START_S}s/${RBD_START_CPU} CPU-s," \
  "s3cmd ls ${S3_START_S}s/${S3_START_CPU} CPU-s, swift stat (incl. tempauth login) ${SW_START_S}s/${SW_START_CPU} CPU-s"

# What verifying costs: imaged hashes every copy with sha512 (in a worker thread) and compares it with the image's.
cat "$FILE" >/dev/null
run_timed sha512sum "$FILE"
((CMD_RC == 0)) || die "sha512sum of $FILE failed"
FLOOR_MBPS=$(awk -v b="$FILE_SIZE" -v s="$T_SECS" 'BEGIN { printf "%.0f", b / s / 1e6 }')
FLOOR_CPU=$(ticks_to_s "$CMD_TICKS")
echo "sha512sum floor (coreutils sha512sum of the file, page cache): ${T_SECS}s wall ($FLOOR_MBPS MB/s), $FLOOR_CPU CPU-s"
if command -v openssl >/dev/null 2>&1; then
  run_timed openssl dgst -sha512 "$FILE"
  ((CMD_RC == 0)) || die "openssl dgst -sha512 of $FILE failed"
  echo "sha512 with OpenSSL (the code node's crypto runs): ${T_SECS}s wall" \
    "($(awk -v b="$FILE_SIZE" -v s="$T_SECS" 'BEGIN { printf "%.0f", b / s / 1e6 }') MB/s), $(ticks_to_s "$CMD_TICKS") CPU-s"
fi
[[ ${BENCH_PERF:-0} != 1 ]] || echo "BENCH_PERF=1: perf record samples imaged during its copies (adds a little CPU to imaged's side)"
echo

declare -A COPY_OK=()
PATHS=("file->rbd" "rbd->s3" "file->swift")
for ((r = 1; r <= ROUNDS; r++)); do
  if ((r % 2)); then order=(imaged cli); else order=(cli imaged); fi
  note "round $r: uploading the source images (untimed)"
  ID_RBD=$(upload_source local)
  ID_SWIFT=$(upload_source local)
  ID_S3=$(upload_source ceph)
  COPY_OK=()
  echo "-- round $r (${order[0]} first)"
  for path in "${PATHS[@]}"; do
    for side in "${order[@]}"; do
      cat "$FILE" >/dev/null # the sources stay in the page cache
      cat "$LOCAL_DIR/$ID_RBD" "$LOCAL_DIR/$ID_SWIFT" >/dev/null
      sleep 1
      case $path/$side in
        "file->rbd/imaged") copy_imaged "$r" "$path" "$ID_RBD" ceph ;;
        "rbd->s3/imaged") copy_imaged "$r" "$path" "$ID_S3" s3 ;;
        "file->swift/imaged") copy_imaged "$r" "$path" "$ID_SWIFT" swift ;;
        */cli) copy_cli "$r" "$path" "$ID_S3" ;;
      esac
    done
  done
  note "round $r: verifying (untimed)"
  verify_imaged "$r" "file->rbd" "$ID_RBD" local ceph
  verify_imaged "$r" "rbd->s3" "$ID_S3" ceph s3
  verify_imaged "$r" "file->swift" "$ID_SWIFT" local swift
  verify_cli "$r"
  delete_round "$r" "$ID_RBD" "$ID_S3" "$ID_SWIFT"
done
echo "check: $(awk -F'\t' 'NR > 1 && $4 == "ok" { n++ } NR > 1 && $4 != "ok" { f++ } END { printf "%d checks passed, %d failed", n, f }' "$VERIFY")" \
  "(imaged: target listed; source location deleted; GET /file from the target = md5; CLI: sizes$( ((SEG_MB == 0)) && echo ", Swift ETag = md5")$( [[ ${BENCH_VERIFY_CLI:-0} == 1 ]] && echo ", md5 of every copy"))"
awk -F'\t' 'NR > 1 && $4 != "ok" { printf "  FAILED check round %s %s: %s: %s\n", $1, $2, $3, $4 }' "$VERIFY"

if grep -q '"level":[4-6]' "$IMAGED_LOG" 2>/dev/null; then
  note "imaged logged warnings/errors during the run (last 10):"
  grep '"level":[4-6]' "$IMAGED_LOG" | tail -n 10 >&2
fi

echo
node "$BENCH_DIR/import-report.mjs" "$RESULTS" "$FLOOR_MBPS" "$FLOOR_CPU" \
  "rbd ${RBD_START_S}s/${RBD_START_CPU} CPU-s, s3cmd ${S3_START_S}s/${S3_START_CPU} CPU-s, swift ${SW_START_S}s/${SW_START_CPU} CPU-s" \
  "$SEG_DESC" \
  "$(node -e 'const [rs, rc, ss, sc, ws, wc] = process.argv.slice(1).map(Number);
    // rbd export | s3cmd put start side by side: the wall time of the slower, the CPU of both
    console.log(JSON.stringify({ "file->rbd": [rs, rc], "rbd->s3": [Math.max(rs, ss), rc + sc], "file->swift": [ws, wc] }));' \
    "$RBD_START_S" "$RBD_START_CPU" "$S3_START_S" "$S3_START_CPU" "$SW_START_S" "$SW_START_CPU")"
if grep -qv $'\tok\t[^\t]*$' <(tail -n +2 "$RESULTS") || grep -qv $'\tok$' <(tail -n +2 "$VERIFY"); then
  die "at least one copy failed or did not verify (see above)"
fi
