# shellcheck shell=bash
# Shared helpers for bench/*.sh (sourced, not run). Everything stays on 127.0.0.1.
# The caller sets `set -euo pipefail` and calls bench_init first.

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$BENCH_DIR/.." && pwd)
CLK_TCK=$(getconf CLK_TCK)
GIB=$((1 << 30))

die() {
  echo "bench: ERROR: $*" >&2
  exit 1
}
note() { echo "bench: $*" >&2; }

# --- cleanup ---------------------------------------------------------------
# Pids we started (killed by pid on exit) and the scratch dir (removed on exit).
BENCH_PIDS=()
BENCH_TMP=

# forget_pid PID: a pid we already reaped, so cleanup must not signal it (it may be reused).
forget_pid() {
  local p keep=()
  for p in "${BENCH_PIDS[@]}"; do
    [[ $p == "$1" ]] || keep+=("$p")
  done
  BENCH_PIDS=("${keep[@]}")
}

bench_cleanup() {
  local rc=$? pid i
  trap - EXIT INT TERM
  for pid in "${BENCH_PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${BENCH_PIDS[@]}"; do
    for ((i = 0; i < 100; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      note "pid $pid did not stop after SIGTERM; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
  done
  if [[ -n $BENCH_TMP && -d $BENCH_TMP ]]; then
    rm -rf -- "$BENCH_TMP"
  fi
  exit "$rc"
}

# bench_init NAME: scratch dir + traps. The dir lives in BENCH_TMPDIR (default /tmp): it holds
# a 1 GiB file and, for uploads, one stored copy at a time.
# stop_pid PID: SIGTERM, then wait up to 10 s for it to go (cleanup paths; never fails).
stop_pid() {
  local pid=$1 i
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 100; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
}

# purge_env SCRIPT DIR WHAT: removes a test/env/*.sh server the bench started (cleanup paths; never fails).
purge_env() {
  local script=$1 dir=$2 what=$3
  [[ -n $dir && -d $dir ]] || return 0
  note "purging the benchmark $what in $dir"
  bash "$script" purge "$dir" >"$BENCH_TMP/$what-purge.log" 2>&1 ||
    { cat "$BENCH_TMP/$what-purge.log" >&2; note "purge of $dir failed"; }
}

bench_init() {
  BENCH_TMP=$(mktemp -d "${BENCH_TMPDIR:-/tmp}/imaged-bench-$1.XXXXXX")
  trap bench_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

# --- tools -----------------------------------------------------------------
# need_pkg CMD PKG...: makes CMD available, installing Debian PKGs when root; fails clearly otherwise.
need_pkg() {
  local cmd=$1
  shift
  command -v "$cmd" >/dev/null 2>&1 && return 0
  if [[ $(id -u) -ne 0 ]]; then
    die "'$cmd' not found; install it (as root: apt-get install -y $*) and re-run"
  fi
  note "'$cmd' missing: apt-get install -y $*"
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y "$@" >&2; then
    apt-get update >&2 || true
    DEBIAN_FRONTEND=noninteractive apt-get install -y "$@" >&2 || die "apt-get install -y $* failed"
  fi
  command -v "$cmd" >/dev/null 2>&1 || die "'$cmd' still not found after installing $*"
}

# nginx lives in /usr/sbin, which a non-root PATH may lack.
find_nginx() {
  local n
  n=$(command -v nginx 2>/dev/null || true)
  [[ -z $n && -x /usr/sbin/nginx ]] && n=/usr/sbin/nginx
  if [[ -z $n ]]; then
    need_pkg nginx nginx-light
    n=$(command -v nginx 2>/dev/null || echo /usr/sbin/nginx)
  fi
  [[ -x $n ]] || die "nginx not found (apt-get install -y nginx-light)"
  echo "$n"
}

need_node() {
  command -v node >/dev/null 2>&1 || die "node not found (imaged needs Node >= 20)"
}

ensure_built() {
  need_node
  if [[ ! -f $REPO_DIR/dist/cli/run.js ]]; then
    note "dist/ missing: running npm run build"
    (cd "$REPO_DIR" && npm run build >&2) || die "npm run build failed"
  fi
}

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# wait_http URL SECONDS PID WHAT: polls until URL answers 200; fails if PID dies or time runs out.
wait_http() {
  local url=$1 secs=$2 pid=$3 what=$4 deadline
  deadline=$((SECONDS + secs))
  while ((SECONDS < deadline)); do
    if ! kill -0 "$pid" 2>/dev/null; then
      return 1
    fi
    if [[ $(curl -s -o /dev/null -m 2 -w '%{http_code}' "$url" 2>/dev/null || true) == 200 ]]; then
      return 0
    fi
    sleep 0.1
  done
  note "$what not ready at $url after ${secs}s"
  return 1
}

# --- the test file -----------------------------------------------------------
# bench_file: sets FILE (BENCH_FILE if given, else a fresh 1 GiB of random bytes in the scratch dir),
# FILE_SIZE and FILE_MD5.
bench_file() {
  if [[ -n ${BENCH_FILE:-} ]]; then
    FILE=$BENCH_FILE
    [[ -f $FILE ]] || die "BENCH_FILE=$FILE is not a file"
  else
    FILE=$BENCH_TMP/image.raw
    note "creating 1 GiB of random data in $FILE"
    head -c "$GIB" /dev/urandom >"$FILE" || die "could not write $FILE (need 1 GiB free in ${BENCH_TMPDIR:-/tmp})"
  fi
  FILE_SIZE=$(stat -c %s "$FILE")
  if [[ -n ${BENCH_FILE_MD5:-} ]]; then
    FILE_MD5=$BENCH_FILE_MD5
  else
    FILE_MD5=$(md5sum "$FILE" | cut -d' ' -f1)
  fi
}

# --- imaged ------------------------------------------------------------------
# start_imaged: sets IMAGED_PID, IMAGED_URL, IMAGED_DATADIR, IMAGED_LOG.
start_imaged() {
  ensure_built
  local base=$BENCH_TMP/imaged port
  mkdir -p "$base/images" "$base/state"
  port=$(free_port)
  cat >"$base/glance-api.conf" <<EOF
[DEFAULT]
bind_host = 127.0.0.1
bind_port = $port
[glance_store]
default_backend = file
filesystem_store_datadir = $base/images
[imaged]
state_dir = $base/state
service_uid = $(id -u)
service_gid = $(id -g)
log_level = ${IMAGED_LOG_LEVEL:-warn}
EOF
  IMAGED_DATADIR=$base/images
  IMAGED_URL=http://127.0.0.1:$port
  run_imaged "$base"
  note "imaged pid $IMAGED_PID at $IMAGED_URL"
}

# run_imaged BASE: starts bin/imaged on BASE/glance-api.conf (log BASE/imaged.log; IMAGED_URL must be set)
# and waits for /healthcheck. Sets IMAGED_PID, IMAGED_LOG. BENCH_PERF=1: node writes /tmp/perf-PID.map so
# that perf can name JIT-compiled JS functions.
run_imaged() {
  local base=$1 nodeopts=${NODE_OPTIONS:-}
  [[ ${BENCH_PERF:-0} != 1 ]] || nodeopts+=" --perf-basic-prof-only-functions"
  IMAGED_LOG=$base/imaged.log
  # bin/imaged execs node, so this pid is the node process (all its threads count in /proc/PID/stat).
  NODE_OPTIONS=$nodeopts "$REPO_DIR/bin/imaged" --config-file "$base/glance-api.conf" >"$IMAGED_LOG" 2>&1 &
  IMAGED_PID=$!
  BENCH_PIDS+=("$IMAGED_PID")
  if ! wait_http "$IMAGED_URL/healthcheck" 30 "$IMAGED_PID" imaged; then
    echo "----- imaged log ($IMAGED_LOG) -----" >&2
    tail -n 40 "$IMAGED_LOG" >&2 || true
    die "imaged did not start (pid $IMAGED_PID, $IMAGED_URL)"
  fi
}

# wait_stores SECS STORE...: remote stores connect in the background; waits until every STORE is listed in
# /v2/info/stores/detail and none of them is unavailable, or dies after SECS with the reason.
wait_stores() {
  local secs=$1 deadline detail why
  shift
  deadline=$((SECONDS + secs))
  while :; do
    imaged_assert_alive
    detail=$(curl -sS -m 5 "$IMAGED_URL/v2/info/stores/detail" 2>/dev/null || true)
    why=$(node -e '
      let j; try { j = JSON.parse(process.argv[1]); } catch { console.log("no JSON yet"); process.exit(); }
      const s = j.stores || [], want = process.argv.slice(2);
      const miss = want.filter((w) => !s.some((x) => x.id === w));
      const down = s.filter((x) => want.includes(x.id) && x.unavailable).map((x) => `${x.id}: ${x.unavailable}`);
      console.log(miss.length ? `not listed: ${miss.join(",")}` : down.join("; "));' "$detail" "$@")
    [[ -n $why ]] || return 0
    ((SECONDS < deadline)) || die "imaged's stores still unavailable after ${secs}s: $why"
    sleep 0.2
  done
}

# imaged_assert_alive: fails loudly (with the log) if imaged died.
imaged_assert_alive() {
  if ! kill -0 "$IMAGED_PID" 2>/dev/null; then
    echo "----- imaged log ($IMAGED_LOG) -----" >&2
    tail -n 40 "$IMAGED_LOG" >&2 || true
    die "imaged (pid $IMAGED_PID) died"
  fi
}

# create_image: prints the new image id.
create_image() {
  local out id
  out=$(curl -sS -m 30 -X POST "$IMAGED_URL/v2/images" -H 'Content-Type: application/json' \
    -d '{"name":"bench","disk_format":"raw","container_format":"bare"}' -w '\n%{http_code}') ||
    die "POST /v2/images failed"
  [[ ${out##*$'\n'} == 201 ]] || die "POST /v2/images answered ${out##*$'\n'}: ${out%$'\n'*}"
  id=$(node -e 'console.log(JSON.parse(process.argv[1]).id)' "${out%$'\n'*}")
  [[ $id =~ ^[0-9a-f-]{36}$ ]] || die "POST /v2/images gave no id: ${out%$'\n'*}"
  echo "$id"
}

# image_field ID FIELD: prints one field of GET /v2/images/ID.
image_field() {
  local body
  body=$(curl -sS -m 30 "$IMAGED_URL/v2/images/$1") || die "GET /v2/images/$1 failed"
  node -e 'const v=JSON.parse(process.argv[1])[process.argv[2]];console.log(v===null||v===undefined?"":v)' "$body" "$2"
}

# start_nginx DIR: Debian nginx ($NGINX, from find_nginx) on a free loopback port with its own prefix under
# $BENCH_TMP, serving DIR/<id> at imaged's URL shape /v2/images/<id>/file with sendfile on, tcp_nopush on and
# worker_processes auto (the reference the download benchmarks compare against). Sets NGX (its prefix, logs
# in $NGX/logs), NGINX_PORT, NGINX_URL, NGINX_PID (master) and NGINX_PIDS (master + workers).
start_nginx() {
  local dir=$1
  NGX=$BENCH_TMP/nginx
  mkdir -p "$NGX/logs" "$NGX/tmp"
  NGINX_PORT=$(free_port)
  cat >"$NGX/nginx.conf" <<EOF
user $(id -un) $(id -gn);
worker_processes auto;
pid $NGX/nginx.pid;
error_log $NGX/logs/error.log warn;
daemon off;
events { worker_connections 1024; }
http {
    sendfile on;
    tcp_nopush on;
    keepalive_requests 10000;
    keepalive_timeout 65;
    access_log off;
    default_type application/octet-stream;
    client_body_temp_path $NGX/tmp/body;
    proxy_temp_path $NGX/tmp/proxy;
    fastcgi_temp_path $NGX/tmp/fastcgi;
    uwsgi_temp_path $NGX/tmp/uwsgi;
    scgi_temp_path $NGX/tmp/scgi;
    server {
        listen 127.0.0.1:$NGINX_PORT;
        location ~ "^/v2/images/([0-9a-f-]{36})/file\$" { alias $dir/\$1; }
        location = /healthcheck { return 200 "OK"; }
    }
}
EOF
  "$NGINX" -t -q -p "$NGX" -e "$NGX/logs/error.log" -c "$NGX/nginx.conf" 2>"$NGX/logs/test.log" ||
    { cat "$NGX/logs/test.log" >&2; die "nginx rejected its config ($NGX/nginx.conf)"; }
  "$NGINX" -p "$NGX" -e "$NGX/logs/error.log" -c "$NGX/nginx.conf" >"$NGX/logs/stdout.log" 2>&1 &
  NGINX_PID=$!
  BENCH_PIDS+=("$NGINX_PID")
  NGINX_URL=http://127.0.0.1:$NGINX_PORT
  if ! wait_http "$NGINX_URL/healthcheck" 15 "$NGINX_PID" nginx; then
    cat "$NGX/logs/stdout.log" "$NGX/logs/error.log" >&2 2>/dev/null || true
    die "nginx did not start (pid $NGINX_PID, $NGINX_URL)"
  fi
  sleep 0.5 # let every worker come up
  mapfile -t NGINX_PIDS < <(proc_tree "$NGINX_PID")
  ((${#NGINX_PIDS[@]} >= 2)) || die "nginx has no worker processes (pids: ${NGINX_PIDS[*]})"
  note "nginx master $NGINX_PID, workers: ${NGINX_PIDS[*]:1}, at $NGINX_URL serving $dir"
}

# --- process accounting ------------------------------------------------------
# proc_tree PID: PID and all its descendants.
proc_tree() {
  local p c
  echo "$1"
  for c in $(pgrep -P "$1" 2>/dev/null || true); do
    proc_tree "$c"
  done
}

# proc_snap PID...: "CPU_TICKS WCHAR SYSCW" summed over the given processes: utime+stime over all
# threads, live and exited; wchar = bytes of write(2)/sendfile(2)...; syscw = number of such calls.
proc_snap() {
  local p ticks=0 wchar=0 syscw=0 stat rest w c
  for p in "$@"; do
    stat=$(<"/proc/$p/stat") || die "process $p is gone"
    rest=${stat##*) }
    # shellcheck disable=SC2206
    local f=($rest) # f[0] is field 3 (state): utime = field 14 = f[11], stime = f[12]
    ticks=$((ticks + f[11] + f[12]))
    read -r w c < <(awk '$1 == "wchar:" { w = $2 } $1 == "syscw:" { c = $2 } END { print w, c }' "/proc/$p/io") ||
      die "cannot read /proc/$p/io"
    [[ -n $w && -n $c ]] || die "cannot read /proc/$p/io"
    wchar=$((wchar + w))
    syscw=$((syscw + c))
  done
  echo "$ticks $wchar $syscw"
}

now() { date +%s.%N; }

# measure_cmd CMD...: runs CMD (stdout+stderr captured) in a subshell and sets CMD_OUT, CMD_RC and
# CMD_TICKS = CPU ticks (user+sys) of CMD and everything it waited for (the subshell's cutime+cstime).
measure_cmd() {
  local res
  # shellcheck disable=SC2016
  res=$(
    rc=0
    "$@" 2>&1 || rc=$?
    read -r st <"/proc/$BASHPID/stat"
    st=${st##*) }
    # shellcheck disable=SC2206
    f=($st) # f[13] = cutime (field 16), f[14] = cstime (field 17)
    printf '\n@@ %s %s' "$rc" $((f[13] + f[14]))
  )
  CMD_OUT=${res%$'\n'@@ *}
  read -r CMD_RC CMD_TICKS <<<"${res##*$'\n'@@ }"
}

ticks_to_s() { awk -v d="$1" -v h="$CLK_TCK" 'BEGIN { printf "%.2f", d / h }'; }

# machine_ticks: CPU ticks used by the whole machine so far, all CPUs (user+nice+system+irq+softirq;
# not idle, iowait or steal). Client and server together, immune to who gets charged for loopback softirqs.
machine_ticks() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8; exit }' /proc/stat; }

# build_note: which imaged is measured (git HEAD, local edits, build times); warns if sources are newer than the build.
build_note() {
  local head dirty="" dist_t addon_t newer
  head=$(git -C "$REPO_DIR" rev-parse --short HEAD 2>/dev/null || echo unknown)
  [[ -n $(git -C "$REPO_DIR" status --porcelain -- src native 2>/dev/null) ]] && dirty=" + uncommitted edits in src/ or native/"
  dist_t=$(stat -c %y "$REPO_DIR/dist/cli/run.js" 2>/dev/null | cut -d. -f1)
  addon_t=$(stat -c %y "$REPO_DIR"/build/Release/*.node 2>/dev/null | head -n1 | cut -d. -f1)
  echo "imaged: git $head$dirty; dist/ built ${dist_t:-?}, addon built ${addon_t:-?}"
  newer=$(find "$REPO_DIR/src" "$REPO_DIR/native" -type f -newer "$REPO_DIR/dist/cli/run.js" 2>/dev/null | head -n 3 | sed "s|$REPO_DIR/||" | tr '\n' ' ')
  [[ -z $newer ]] || echo "WARNING: sources changed after the last build (e.g. $newer): run 'npm run build' to measure them"
}

# machine_note [WHO]: the machine line; on a small box a NOTE that WHO (default: client and server) share its CPUs.
machine_note() {
  echo "machine: $(nproc) CPU(s) ($(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)), $(awk '/MemTotal/{printf "%.0f GiB RAM", $2/1048576}' /proc/meminfo), kernel $(uname -r), node $(node -v), load average $(cut -d" " -f1-3 /proc/loadavg)"
  ((  $(nproc) <= 4 )) || return 0
  if [[ -n ${1:-} ]]; then
    echo "NOTE: $1 share these $(nproc) CPUs: whoever needs more CPU per GiB loses throughput;"
    echo "      compare the two sides through the same-run ratios, not against other machines."
  else
    echo "NOTE: client (wrk/curl/probe) and server share these $(nproc) CPUs: absolute numbers are client-limited;"
    echo "      compare imaged and nginx through the same-run ratios, not against other machines."
  fi
}
