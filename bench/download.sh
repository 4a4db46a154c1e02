#!/usr/bin/env bash
# Download benchmark: imaged (sendfile) vs Debian nginx (sendfile on) serving the very same 1 GiB file
# from the page cache, interleaved in one run. Prints medians and imaged/nginx ratios per connection count.
#   DUR=10 ROUNDS=3 CONNS="1 4 16" bench/download.sh
# Env: DUR (s per wrk run), ROUNDS, CONNS, BENCH_FILE (reuse a file), BENCH_TMPDIR (scratch, default /tmp),
#      SUMMARY_OUT (append the PASS/FAIL lines there, for run.sh).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DUR=${DUR:-10}
ROUNDS=${ROUNDS:-3}
CONNS=${CONNS:-1 4 16}
[[ $DUR =~ ^[1-9][0-9]*$ ]] || die "DUR must be a positive integer (seconds), got '$DUR'"
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive integer, got '$ROUNDS'"

need_pkg wrk wrk
need_pkg curl curl
NGINX=$(find_nginx)
need_node
bench_init download

echo "== imaged download benchmark: imaged vs nginx, same file, same run =="
machine_note
echo "wrk -t min(2,c) -c c -d ${DUR}s --timeout 60s, c in {$CONNS}, $ROUNDS interleaved rounds (nginx, imaged, ...)"
echo "(wrk needs threads <= connections, so c=1 runs with -t1)"

build_note
bench_file
start_imaged
IMAGE_ID=$(create_image)
code=$(curl -sS -m 600 -o /dev/null -w '%{http_code}' -T "$FILE" -H 'Content-Type: application/octet-stream' \
  "$IMAGED_URL/v2/images/$IMAGE_ID/file") || die "upload to imaged failed"
[[ $code == 204 ]] || die "upload to imaged answered HTTP $code"
[[ $(image_field "$IMAGE_ID" status) == active ]] || die "image $IMAGE_ID is not active after upload"
STORED=$IMAGED_DATADIR/$IMAGE_ID
[[ -f $STORED ]] || die "stored image not found at $STORED"
[[ $(stat -c %s "$STORED") == "$FILE_SIZE" ]] || die "stored image has the wrong size"

# --- nginx (lib.sh start_nginx) serving the same stored file ------------------------------------------
start_nginx "$IMAGED_DATADIR"

PATH_URL=/v2/images/$IMAGE_ID/file
declare -A URL=([nginx]=$NGINX_URL$PATH_URL [imaged]=$IMAGED_URL$PATH_URL)

# --- correctness first: both serve the exact bytes ---------------------------------------------------
cat "$FILE" "$STORED" >/dev/null # warm the page cache
for srv in nginx imaged; do
  got=$(curl -sS -m 120 "${URL[$srv]}" | md5sum | cut -d' ' -f1) || die "GET from $srv failed"
  [[ $got == "$FILE_MD5" ]] || die "$srv served different bytes (md5 $got, file $FILE_MD5)"
done
echo "check: both servers return the file intact (md5 $FILE_MD5, $FILE_SIZE bytes)"
cat "$STORED" >/dev/null

# --- the runs --------------------------------------------------------------------------------------
RESULTS=$BENCH_TMP/download.tsv
printf 'server\tc\tround\tbytes\tcpu_s\tsecs\twrite_calls\tclient_cpu_s\tother_cpu_s\trequests\twrk_read\tsock_errors\tnon2xx\tclient_bytes\tclient_secs\n' >"$RESULTS"

# run_one SERVER C ROUND
run_one() {
  local srv=$1 c=$2 r=$3 t pids before after t0 t1 m0 m1 out reqs readb errs non2xx cbytes cus bt bw bc at aw ac
  t=$((c < 2 ? c : 2))
  if [[ $srv == nginx ]]; then
    pids=("${NGINX_PIDS[@]}")
  else
    pids=("$IMAGED_PID")
  fi
  before=$(proc_snap "${pids[@]}")
  m0=$(machine_ticks)
  t0=$(now)
  measure_cmd timeout $((DUR + 120)) wrk -t"$t" -c"$c" -d"${DUR}s" --timeout 60s -s "$BENCH_DIR/wrk-bytes.lua" "${URL[$srv]}"
  t1=$(now)
  m1=$(machine_ticks)
  after=$(proc_snap "${pids[@]}")
  out=$CMD_OUT
  echo "$out" >"$BENCH_TMP/wrk-$srv-c$c-r$r.txt"
  ((CMD_RC == 0)) || { echo "$out" >&2; die "wrk against $srv (c=$c) failed with status $CMD_RC"; }
  reqs=$(awk '/requests in/ { print $1 }' <<<"$out")
  readb=$(awk '/requests in/ { print $(NF - 1) }' <<<"$out")
  errs=$(awk '/Socket errors/ { n = 0; for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) n += $i + 0; print n }' <<<"$out")
  non2xx=$(awk '/Non-2xx/ { print $NF }' <<<"$out")
  cbytes=$(awk '$1 == "client_bytes" { print $2 }' <<<"$out")
  cus=$(awk '$1 == "client_us" { print $2 }' <<<"$out")
  [[ $cbytes =~ ^[0-9]+$ && $cus =~ ^[1-9][0-9]*$ ]] || die "wrk did not print client_bytes/client_us (bench/wrk-bytes.lua): $out"
  read -r bt bw bc <<<"$before"
  read -r at aw ac <<<"$after"
  # other = everything else the box did meanwhile (ksoftirqd, other users' processes): a noise gauge
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$srv" "$c" "$r" $((aw - bw)) "$(ticks_to_s $((at - bt)))" \
    "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')" $((ac - bc)) "$(ticks_to_s "$CMD_TICKS")" \
    "$(ticks_to_s $((m1 - m0 - (at - bt) - CMD_TICKS)))" \
    "${reqs:-0}" "${readb:-?}" "${errs:-0}" "${non2xx:-0}" "$cbytes" "$(awk -v u="$cus" 'BEGIN { printf "%.6f", u / 1e6 }')" >>"$RESULTS"
  tail -n1 "$RESULTS" | awk -F'\t' '{ printf "  %-6s c=%-2s round %s: %5.0f MB/s read by wrk (server wrote %5.0f MB/s)  CPU-s server %5.2f wrk %5.2f other %5.2f  %5.0f KiB/write-call  %2s requests done  sock errs %s  non-2xx %s\n", $1, $2, $3, $14 / $15 / 1e6, $4 / $6 / 1e6, $5, $8, $9, $7 ? $4 / $7 / 1024 : 0, $10, $12, $13 }'
}

for c in $CONNS; do
  echo "-- c=$c"
  for ((r = 1; r <= ROUNDS; r++)); do
    for srv in nginx imaged; do
      run_one "$srv" "$c" "$r"
      imaged_assert_alive
      kill -0 "$NGINX_PID" 2>/dev/null || die "nginx died"
      mapfile -t now_pids < <(proc_tree "$NGINX_PID")
      [[ ${now_pids[*]} == "${NGINX_PIDS[*]}" ]] || die "nginx workers changed (${NGINX_PIDS[*]} -> ${now_pids[*]}): see $NGX/logs/error.log"
      sleep 1
    done
  done
done

# Still serving the right bytes after the load?
got=$(curl -sS -m 120 "${URL[imaged]}" | md5sum | cut -d' ' -f1) || die "final GET from imaged failed"
[[ $got == "$FILE_MD5" ]] || die "imaged served different bytes after the runs (md5 $got)"
if [[ -s $NGX/logs/error.log ]]; then
  note "nginx error.log:"
  tail -n 5 "$NGX/logs/error.log" >&2
fi
if grep -q '"level":[4-6]' "$IMAGED_LOG" 2>/dev/null; then
  note "imaged logged warnings/errors during the run:"
  grep '"level":[4-6]' "$IMAGED_LOG" | tail -n 5 >&2
fi

echo
node "$BENCH_DIR/report.mjs" download "$RESULTS" ${SUMMARY_OUT:+"$SUMMARY_OUT"}
