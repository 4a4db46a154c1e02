#!/usr/bin/env bash
# Throwaway OpenStack Keystone (Debian's keystone 22 under uwsgi: 1 process x 4 threads, sqlite in WAL mode,
# fernet tokens, in-memory cache) on 127.0.0.1 for imaged's Keystone tests and benchmarks.
#
#   test/env/keystone.sh start|stop|status|purge|env [DIR]
#
# DIR defaults to /tmp/imaged-keystone. Everything lives under DIR (etc/, keystone.db, fernet keys, log/, run/).
# `start` creates and bootstraps it on first use, starts uwsgi if it is not running, and blocks until
# GET /v3 answers; `stop` TERMs the recorded uwsgi master pid (KILL after 30 s); `purge` = stop + rm -rf DIR.
# Source DIR/env (KEYSTONE_URL, credentials, project/user ids, KEYSTONE_LOG = uwsgi's request log) or print it
# with `env`.
#
# Contents: admin/adminpass (project admin; also admin on domain default and on the system), project service
# with user imaged/imagedpass (roles admin and service), projects alpha, beta, gamma each with users
# <project>-member (member) and <project>-reader (reader), password demopass; alpha-norole (no role
# anywhere), alpha-disabled (member of alpha, disabled); role service; the image service with
# public/internal/admin endpoints at http://127.0.0.1:$IMAGED_KEYSTONE_IMAGE_PORT in RegionOne.
#
# Knobs (frozen in DIR/settings at creation): IMAGED_KEYSTONE_PORT=5000, IMAGED_KEYSTONE_IMAGE_PORT=9595
# (the imaged URL in the catalog), IMAGED_KEYSTONE_TOKEN_EXPIRATION=3600 (seconds).
# IMAGED_KEYSTONE_TIMEOUT=120 (readiness timeout in seconds; not frozen).
set -euo pipefail

PKGS=(keystone uwsgi-plugin-python3 sqlite3 curl)
CMD=${1:-}
DIR=${2:-/tmp/imaged-keystone}
TIMEOUT=${IMAGED_KEYSTONE_TIMEOUT:-120}
GRACE=30
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PY=/usr/bin/python3 # Debian's python (a pyenv shim may come first on PATH)
export PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH

die() { echo "keystone.sh: $*" >&2; exit 1; }
T0=$(date +%s.%N)
elapsed() { awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN{print b-a}'; }
log() { printf '[keystone.sh %5.1fs] %s\n' "$(elapsed)" "$*" >&2; }

case "$DIR" in /*) ;; *) DIR=$PWD/$DIR ;; esac
DIR=${DIR%/}
# DIR goes into sed replacements and a sqlite URL: keep it plain.
[[ $DIR =~ ^/[A-Za-z0-9._/-]+$ ]] || die "DIR must match [A-Za-z0-9._/-]: $DIR"
ETC=$DIR/etc
PID_DIR=$DIR/run
DAEMON_LOG=$DIR/log/%s.log
ADMIN_PASSWORD=adminpass
SERVICE_PASSWORD=imagedpass
DEMO_PASSWORD=demopass
REGION=RegionOne

# shellcheck source=lib.sh
. "$HERE/lib.sh"
daemon_cmd() { echo "uwsgi --ini $ETC/keystone-uwsgi.ini"; }

# --- package ------------------------------------------------------------------------------------
# keystone's postinst starts its own uwsgi service on :5000 unless policy-rc.d forbids it (exit 101).
install_packages() {
  local p missing=0 prc=/usr/sbin/policy-rc.d rc=0
  for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing=1
  done
  ((missing)) || return 0
  if [[ $(id -u) == 0 ]]; then
    if [[ -x $prc ]]; then "$prc" keystone start >/dev/null 2>&1 || rc=$?; fi
    if [[ $rc != 101 ]]; then
      [[ -e $prc ]] && mv "$prc" "$prc.imaged-keystone-sh.bak"
      printf '#!/bin/sh\n# temporary, test/env/keystone.sh: no service starts during apt-get install\nexit 101\n' >"$prc"
      chmod 755 "$prc"
      trap restore_policy_rc EXIT
    fi
  fi
  ensure_packages
  restore_policy_rc
  trap - EXIT
}
restore_policy_rc() {
  local prc=/usr/sbin/policy-rc.d
  [[ -e $prc.imaged-keystone-sh.bak ]] || { grep -q 'test/env/keystone.sh' "$prc" 2>/dev/null && rm -f "$prc"; return 0; }
  mv "$prc.imaged-keystone-sh.bak" "$prc"
}

# --- settings / config ----------------------------------------------------------------------------
load_settings() {
  if [[ -f $DIR/settings ]]; then
    # shellcheck disable=SC1091
    . "$DIR/settings"
  else
    PORT=${IMAGED_KEYSTONE_PORT:-5000}
    IMAGE_PORT=${IMAGED_KEYSTONE_IMAGE_PORT:-9595}
    EXPIRATION=${IMAGED_KEYSTONE_TOKEN_EXPIRATION:-3600}
  fi
  [[ $PORT =~ ^[0-9]+$ && $IMAGE_PORT =~ ^[0-9]+$ && $EXPIRATION =~ ^[0-9]+$ ]] || die "bad IMAGED_KEYSTONE_* settings"
  URL=http://127.0.0.1:$PORT
}

save_settings() {
  printf 'PORT=%s\nIMAGE_PORT=%s\nEXPIRATION=%s\n' "$PORT" "$IMAGE_PORT" "$EXPIRATION" >"$DIR/settings.tmp"
  mv "$DIR/settings.tmp" "$DIR/settings"
}

write_config() {
  mkdir -p "$ETC" "$DIR"/{log,run,state,fernet-keys,credential-keys}
  cat >"$ETC/keystone.conf" <<EOF
# written by imaged's test/env/keystone.sh
[DEFAULT]
log_dir = $DIR/log
log_file = keystone-app.log
[database]
connection = sqlite:///$DIR/keystone.db
[token]
provider = fernet
expiration = $EXPIRATION
[fernet_tokens]
key_repository = $DIR/fernet-keys
max_active_keys = 3
[fernet_receipts]
key_repository = $DIR/fernet-keys
[credential]
key_repository = $DIR/credential-keys
[identity]
# test only: cheap bcrypt (the default 12 rounds cost ~0.5 s per token issue here)
password_hash_rounds = 4
[cache]
# without it one validation is ~950 SQL queries (0.4-6 s); per process, hence 1 uwsgi process
enabled = true
backend = dogpile.cache.memory
[unified_limit]
# keystone 22 serves a changed project limit stale from this cache (no invalidation of the listing); the
# limits tests change limits mid-run
caching = false
EOF
  cat >"$ETC/keystone-uwsgi.ini" <<EOF
[uwsgi]
plugins = python3
http-socket = 127.0.0.1:$PORT
wsgi-file = /usr/bin/keystone-wsgi-public
env = OS_KEYSTONE_CONFIG_FILES=$ETC/keystone.conf
master = true
processes = 1
threads = 4
enable-threads = true
lazy-apps = true
buffer-size = 65535
die-on-term = true
no-orphans = true
chdir = $DIR
add-header = Connection: close
EOF
}

# --- bootstrap (once per DIR) -------------------------------------------------------------------------
manage() { keystone-manage --config-file "$ETC/keystone.conf" "$@" >>"$DIR/log/keystone-manage.log" 2>&1; }

bootstrap_db() {
  [[ -f $DIR/state/db-bootstrapped ]] && return 0
  log "keystone-manage db_sync, fernet/credential keys, bootstrap"
  local u g
  u=$(id -un) g=$(id -gn)
  manage db_sync || { tail -n 30 "$DIR/log/keystone-manage.log" >&2; die "keystone-manage db_sync failed"; }
  manage fernet_setup --keystone-user "$u" --keystone-group "$g" || die "keystone-manage fernet_setup failed"
  manage credential_setup --keystone-user "$u" --keystone-group "$g" || die "keystone-manage credential_setup failed"
  # WAL: uwsgi's threads write concurrently; without it sqlite answers "database is locked" (500s)
  sqlite3 "$DIR/keystone.db" 'PRAGMA journal_mode=WAL;' >/dev/null
  manage bootstrap --bootstrap-password "$ADMIN_PASSWORD" --bootstrap-username admin --bootstrap-project-name admin \
    --bootstrap-role-name admin --bootstrap-service-name keystone --bootstrap-region-id "$REGION" \
    --bootstrap-admin-url "$URL/v3/" --bootstrap-public-url "$URL/v3/" --bootstrap-internal-url "$URL/v3/" ||
    { tail -n 30 "$DIR/log/keystone-manage.log" >&2; die "keystone-manage bootstrap failed"; }
  touch "$DIR/state/db-bootstrapped"
}

populate() {
  [[ -s $DIR/state/ids ]] && return 0
  log "creating the test projects, users, roles and the image endpoint"
  "$PY" "$HERE/keystone/bootstrap.py" "$URL/v3" "$ADMIN_PASSWORD" "$SERVICE_PASSWORD" "$DEMO_PASSWORD" \
    "http://127.0.0.1:$IMAGE_PORT" "$REGION" >"$DIR/state/ids.tmp" || die "bootstrap.py failed"
  mv "$DIR/state/ids.tmp" "$DIR/state/ids"
}

# --- readiness ----------------------------------------------------------------------------------------
port_free() { [[ -z $(ss -Htln "sport = :$1" 2>/dev/null) ]]; }
launch_check() { port_free "$PORT" || die "127.0.0.1:$PORT is already in use (set IMAGED_KEYSTONE_PORT on a fresh DIR)"; }
answering() { [[ $(curl -s -o /dev/null -w '%{http_code}' -m 5 "$URL/v3" 2>/dev/null) == 200 ]]; }

wait_ready() {
  local deadline=$(($(date +%s) + TIMEOUT))
  until answering; do
    if ! running keystone || (($(date +%s) >= deadline)); then
      echo "---- tail $DIR/log/keystone.log" >&2; tail -n 30 "$DIR/log/keystone.log" >&2 2>/dev/null || true
      echo "---- tail $DIR/log/keystone-app.log" >&2; tail -n 30 "$DIR/log/keystone-app.log" >&2 2>/dev/null || true
      running keystone && die "GET $URL/v3 does not answer after ${TIMEOUT}s" || die "uwsgi exited"
    fi
    sleep 0.2
  done
}

write_env() {
  {
    echo "KEYSTONE_URL=$URL"
    echo "KEYSTONE_V3=$URL/v3"
    echo "KEYSTONE_REGION=$REGION"
    echo "KEYSTONE_ADMIN_USER=admin"
    echo "KEYSTONE_ADMIN_PASSWORD=$ADMIN_PASSWORD"
    echo "KEYSTONE_SERVICE_USER=imaged"
    echo "KEYSTONE_SERVICE_PASSWORD=$SERVICE_PASSWORD"
    echo "KEYSTONE_DEMO_PASSWORD=$DEMO_PASSWORD"
    echo "KEYSTONE_IMAGE_URL=http://127.0.0.1:$IMAGE_PORT"
    echo "KEYSTONE_IMAGE_PORT=$IMAGE_PORT"
    echo "KEYSTONE_TOKEN_EXPIRATION=$EXPIRATION"
    echo "KEYSTONE_LOG=$DIR/log/keystone.log"
    echo "KEYSTONE_DIR=$DIR"
    cat "$DIR/state/ids"
  } >"$DIR/env.tmp"
  mv "$DIR/env.tmp" "$DIR/env"
}

# --- commands -----------------------------------------------------------------------------------------
cmd_start() {
  install_packages
  load_settings
  if ! running keystone; then
    save_settings
    write_config
    bootstrap_db
    launch keystone
  fi
  wait_ready
  populate
  write_env
  log "ready at $URL (DIR=$DIR); source $DIR/env"
}

cmd_stop() {
  [[ -f $DIR/settings ]] || return 0
  load_settings
  running keystone || { rm -f "$PID_DIR/keystone.pid"; return 0; }
  stop_daemons keystone
  log "stopped"
}

cmd_status() {
  [[ -f $DIR/settings ]] || { echo "no Keystone at $DIR"; return 1; }
  load_settings
  local pid
  pid=$(pid_of keystone) || { echo "keystone: stopped"; return 1; }
  echo "keystone: running (pid $pid) at $URL"
  answering && echo "GET /v3: OK" || { echo "GET /v3: FAILS"; return 1; }
}

# shellcheck source=statedir.sh
. "$HERE/statedir.sh"
lock_state_dir "$CMD" "$DIR/.imaged-keystone" "$DIR/lock" $((TIMEOUT + 60)) keystone.sh

case "$CMD" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  purge)
    [[ -e $DIR ]] || exit 0
    owns_dir "$DIR/.imaged-keystone" || die "$DIR was not made by keystone.sh; refusing to rm -rf it"
    cmd_stop; rm -rf "$DIR"; log "purged $DIR" ;;
  env) [[ -f $DIR/env ]] || die "no $DIR/env; run start first"; cat "$DIR/env" ;;
  *) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
