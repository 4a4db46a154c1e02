# Shared by the test-env scripts that run real servers (sourced by ceph.sh and swift.sh): package install
# and foreground daemons run in their own session with a recorded pid. The caller defines die, log, PKGS,
# daemon_cmd NAME (the exact command line), PID_DIR (one NAME.pid each), DAEMON_LOG (printf pattern for a
# daemon's output file, %s = NAME) and may define launch_check NAME (run before a launch; dies if the daemon
# cannot start) and GRACE (seconds, default 30). PID_DIR and DAEMON_LOG are read when used.

# ensure_packages: installs the missing PKGS with apt (as root; otherwise dies naming them).
ensure_packages() {
  local missing=() p
  for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  [[ $(id -u) == 0 ]] || die "missing packages (${missing[*]}); run as root or: apt-get install -y --no-install-recommends ${PKGS[*]}"
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Retry after an update: a fresh CI image usually has no package lists yet. Another env script may be
  # installing at the same time: wait for the dpkg lock.
  apt-get install -y --no-install-recommends -o DPkg::Lock::Timeout=900 "${PKGS[@]}" ||
    { apt-get update && apt-get install -y --no-install-recommends -o DPkg::Lock::Timeout=900 "${PKGS[@]}"; } ||
    die "apt-get install failed"
}

# Running = recorded pid alive and its cmdline is our command (pids get reused).
pid_of() {
  local f=$PID_DIR/$1.pid pid cmd
  [[ -f $f ]] || return 1
  pid=$(<"$f"); [[ -n $pid && -r /proc/$pid/cmdline ]] || return 1
  cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
  [[ $cmd == "$(daemon_cmd "$1") " ]] || return 1
  echo "$pid"
}
running() { pid_of "$1" >/dev/null; }

launch() {
  local name=$1 out
  running "$name" && return 0
  if declare -F launch_check >/dev/null; then launch_check "$name"; fi
  # shellcheck disable=SC2059
  out=$(printf "$DAEMON_LOG" "$name")
  # shellcheck disable=SC2046
  # 9>&-: the daemon must not inherit (and so hold forever) the caller's lock on fd 9
  setsid $(daemon_cmd "$name") </dev/null >>"$out" 2>&1 9>&- &
  echo $! >"$PID_DIR/$name.pid"
  log "launched $name (pid $!)"
}

stop_daemons() { # TERM all given daemons, wait up to GRACE (30) s, then KILL
  local n pid pids=() i alive grace=${GRACE:-30}
  for n in "$@"; do pid=$(pid_of "$n") && { kill -TERM "$pid" 2>/dev/null || true; pids+=("$pid"); }; done
  for ((i = 0; i < grace * 10; i++)); do
    alive=0
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    ((alive)) || break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then log "pid $pid ignored SIGTERM for $grace s, SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; fi
  done
  for n in "$@"; do rm -f "$PID_DIR/$n.pid"; done
}
