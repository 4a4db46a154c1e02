#!/usr/bin/env bash
# Upload benchmark: a 1 GiB file into a fresh imaged image, ROUNDS times per client, the clients side by side
# in each round (who goes first rotates):
#   cl       curl -T: a Content-Length body (openstack image create, curl)
#   chunked  curl -T with Transfer-Encoding: chunked (64 KiB chunks, like glanceclient and so Nova)
#   glance   the real `glance image-create --file` (python3-glanceclient: chunked, 64 KiB chunks; the Python
#            client shares the CPUs, so this one measures the pair)
# Per run: MB/s, imaged CPU-s/GiB (md5 + sha512 + xxh3 are all computed by imaged during the upload) and
# event-loop responsiveness (GET /healthcheck every 10 ms, keep-alive) during the upload vs idle. Each image
# is checked afterwards (active, size, checksum = md5sum, os_hash_value = sha512sum), then deleted.
#   ROUNDS=3 bench/upload.sh
# Env: ROUNDS, CLIENTS (default "cl chunked glance"), IDLE_SECS (idle probe, default 5), BENCH_FILE (reuse a
#      file), BENCH_TMPDIR (scratch), SUMMARY_OUT (append the PASS/FAIL lines there, for run.sh).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

ROUNDS=${ROUNDS:-3}
IDLE_SECS=${IDLE_SECS:-5}
read -r -a CLIENT_LIST <<<"${CLIENTS:-cl chunked glance}"
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive integer, got '$ROUNDS'"
[[ $IDLE_SECS =~ ^[1-9][0-9]*$ ]] || die "IDLE_SECS must be a positive integer, got '$IDLE_SECS'"
((${#CLIENT_LIST[@]} > 0)) || die "CLIENTS is empty"
for c in "${CLIENT_LIST[@]}"; do
  [[ $c == cl || $c == chunked || $c == glance ]] || die "unknown client '$c' in CLIENTS (cl, chunked, glance)"
done

need_pkg curl curl
[[ " ${CLIENT_LIST[*]} " != *" glance "* ]] || need_pkg glance python3-glanceclient
need_node
bench_init upload
GLANCE_HOME=$BENCH_TMP/glance-home # glanceclient caches the image schema here
mkdir -p "$GLANCE_HOME"

echo "== imaged upload benchmark: 1 GiB, $ROUNDS rounds of: ${CLIENT_LIST[*]} =="
machine_note
build_note

bench_file
FILE_SHA512=$(sha512sum "$FILE" | cut -d' ' -f1)
start_imaged
cat "$FILE" >/dev/null # the source file comes from the page cache, so the client side is cheap

PROBE_URL=$IMAGED_URL/healthcheck
echo "idle event-loop baseline: ${IDLE_SECS}s of GET /healthcheck every 10 ms"
IDLE_JSON=$BENCH_TMP/probe-idle.json
timeout $((IDLE_SECS + 30)) node "$BENCH_DIR/probe.mjs" "$PROBE_URL" --seconds "$IDLE_SECS" >"$IDLE_JSON" ||
  die "idle probe failed"
echo "  idle: $(cat "$IDLE_JSON")"

RESULTS=$BENCH_TMP/upload.tsv
printf 'round\tclient\tbytes\tsecs\tcpu_s\tclient_cpu_s\tother_cpu_s\tprobe_n\tp50\tp99\tmax\tprobe_errors\tprobe_late\tverified\n' >"$RESULTS"

PROBE_PID=
stop_probe() {
  kill -TERM "$PROBE_PID" 2>/dev/null || true
  wait "$PROBE_PID" || die "event-loop probe failed"
  forget_pid "$PROBE_PID"
  PROBE_PID=
}

# upload CLIENT ROUND: one timed upload; sets UP_ID (the image), UP_SECS and UP_SENT, or dies.
upload() {
  local client=$1 r=$2 t0 t1 code
  local body=$BENCH_TMP/put-$r-$client.body
  case $client in
    cl | chunked)
      UP_ID=$(create_image)
      local te=()
      # curl -T with this header sends the file chunked (64 KiB chunks); "Expect:" as glanceclient (none)
      [[ $client == chunked ]] && te=(-H 'Transfer-Encoding: chunked' -H 'Expect:')
      measure_cmd curl -sS --max-time 900 -o "$body" -w '%{http_code} %{time_total} %{size_upload}' \
        -T "$FILE" -H 'Content-Type: application/octet-stream' "${te[@]}" "$IMAGED_URL/v2/images/$UP_ID/file"
      ((CMD_RC == 0)) || die "curl upload ($client, round $r) failed with status $CMD_RC: $CMD_OUT"
      read -r code UP_SECS UP_SENT <<<"$CMD_OUT"
      [[ $code == 204 ]] || die "upload ($client, round $r) answered HTTP $code: $(head -c 500 "$body")"
      # curl counts the chunk framing in size_upload
      [[ $client == chunked ]] || [[ $UP_SENT == "$FILE_SIZE" ]] || die "curl sent $UP_SENT bytes, not $FILE_SIZE"
      UP_SENT=$FILE_SIZE
      ;;
    glance)
      # image-create = POST /v2/images + PUT .../file (chunked): timed as a whole, the POST is milliseconds
      t0=$(now)
      measure_cmd env HOME="$GLANCE_HOME" glance --os-image-url "$IMAGED_URL" --os-auth-token bench \
        image-create --name bench --disk-format raw --container-format bare --file "$FILE"
      t1=$(now)
      ((CMD_RC == 0)) || die "glance image-create (round $r) failed with status $CMD_RC: $CMD_OUT"
      UP_ID=$(awk -F'|' '$2 ~ /^ *id *$/ { gsub(/ /, "", $3); print $3 }' <<<"$CMD_OUT")
      [[ $UP_ID =~ ^[0-9a-f-]{36}$ ]] || die "glance image-create (round $r) printed no id: $CMD_OUT"
      UP_SECS=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
      UP_SENT=$FILE_SIZE
      ;;
  esac
}

for ((r = 1; r <= ROUNDS; r++)); do
  n=${#CLIENT_LIST[@]}
  for ((k = 0; k < n; k++)); do
    client=${CLIENT_LIST[$(((k + r - 1) % n))]}
    pout=$BENCH_TMP/probe-$r-$client.json
    node "$BENCH_DIR/probe.mjs" "$PROBE_URL" >"$pout" &
    PROBE_PID=$!
    BENCH_PIDS+=("$PROBE_PID")
    sleep 0.3 # probe connected and ticking
    before=$(proc_snap "$IMAGED_PID")
    m0=$(machine_ticks)
    upload "$client" "$r"
    m1=$(machine_ticks)
    after=$(proc_snap "$IMAGED_PID")
    stop_probe
    probe=$(<"$pout")
    [[ -n $probe ]] || die "event-loop probe printed nothing"
    imaged_assert_alive
    id=$UP_ID

    # The stored image must be the file we sent.
    verified=ok
    status=$(image_field "$id" status)
    size=$(image_field "$id" size)
    checksum=$(image_field "$id" checksum)
    os_hash=$(image_field "$id" os_hash_value)
    [[ $status == active ]] || { verified=FAIL; note "round $r $client: image status '$status', expected active"; }
    [[ $size == "$FILE_SIZE" ]] || { verified=FAIL; note "round $r $client: image size '$size', expected $FILE_SIZE"; }
    [[ $checksum == "$FILE_MD5" ]] || { verified=FAIL; note "round $r $client: checksum '$checksum' != md5sum $FILE_MD5"; }
    [[ $os_hash == "$FILE_SHA512" ]] || { verified=FAIL; note "round $r $client: os_hash_value '${os_hash:0:16}...' != sha512sum ${FILE_SHA512:0:16}..."; }

    read -r bt _ <<<"$before"
    read -r at _ <<<"$after"
    cpu=$(awk -v d=$((at - bt)) -v h="$CLK_TCK" 'BEGIN { printf "%.2f", d / h }')
    ccpu=$(ticks_to_s "$CMD_TICKS")
    ocpu=$(ticks_to_s $((m1 - m0 - (at - bt) - CMD_TICKS)))
    row=$(node -e '
      const p = JSON.parse(process.argv[1]);
      const [r, c, bytes, secs, cpu, ccpu, ocpu, v] = process.argv.slice(2);
      console.log([r, c, bytes, secs, cpu, ccpu, ocpu, p.n, p.p50, p.p99, p.max, p.errors, p.late, v].join("\t"));' \
      "$probe" "$r" "$client" "$UP_SENT" "$UP_SECS" "$cpu" "$ccpu" "$ocpu" "$verified")
    echo "$row" >>"$RESULTS"
    awk -F'\t' '{ printf "  round %s %-7s: %4.0f MB/s  CPU-s imaged %5.2f (%.2f/GiB) client %4.2f other %4.2f  event loop p50 %s ms p99 %s ms max %s ms (%s probes, %s errors, %s late)  image %s\n",
      $1, $2, $3 / $4 / 1e6, $5, $5 / ($3 / 1073741824), $6, $7, $9, $10, $11, $8, $12, $13, $14 }' <<<"$row"

    # Free the space before the next upload.
    dcode=$(curl -sS -m 60 -o /dev/null -w '%{http_code}' -X DELETE "$IMAGED_URL/v2/images/$id") || die "DELETE failed"
    [[ $dcode == 204 ]] || note "DELETE /v2/images/$id answered $dcode"
    sleep 1
  done
done

if grep -q '"level":[4-6]' "$IMAGED_LOG" 2>/dev/null; then
  note "imaged logged warnings/errors during the run:"
  grep '"level":[4-6]' "$IMAGED_LOG" | tail -n 5 >&2
fi

echo
node "$BENCH_DIR/report.mjs" upload "$RESULTS" "$IDLE_JSON" ${SUMMARY_OUT:+"$SUMMARY_OUT"}
if grep -qv $'\tok$' <(tail -n +2 "$RESULTS"); then
  die "at least one uploaded image did not verify (see above)"
fi
