#!/usr/bin/env bash
# Throwaway real OpenStack Glance (Debian's glance-api 25, no keystone) as a peer for imaged tests/benchmarks.
#
#   test/env/glance.sh start|stop|status|purge|env [DIR]
#
# DIR defaults to /tmp/imaged-glance. Single file store in DIR/images, sqlite DB, logs, locks, staging,
# cache all under DIR; listens on 127.0.0.1 only. `start` is idempotent and blocks until GET /versions
# answers; `stop` TERMs the recorded pids (parent + worker), KILL after 20 s; `purge` = stop + rm -rf DIR.
# Source DIR/env (GLANCE_URL, GLANCE_DATADIR, GLANCE_LOG, ...) or print it with `env`. For the glance CLI use
# HOME=$GLANCE_CLIENT_HOME glance --os-image-url $GLANCE_URL --os-auth-token x ... (see seed_glanceclient_home).
#
# Default pipeline is the owner-context filter (test/env/glance/glance_owner_context.py): project
# noauth-project, roles admin,member,reader, overridable per request with the headers X-Project-Id
# (or X-Tenant-Id), X-User-Id, X-Roles; X-Openstack-Request-Id is honoured.
#
# Knobs: IMAGED_GLANCE_PORT=9393 (remembered in DIR/settings; 9292 is imaged's; applied on a (re)start)
#        IMAGED_GLANCE_TIMEOUT=90 (seconds for GET /versions to answer)
#        IMAGED_GLANCE_FLAVOR=noauthowner|stock (remembered; stock = Debian's unauthenticated-context
#          pipeline: owner null, X-* headers ignored, /import and /v2/cache fail)
#        IMAGED_GLANCE_NEW_DEFAULTS=0|1 (remembered; [oslo_policy] enforce_new_defaults: Glance's secure-RBAC
#          defaults instead of the legacy ones)
#        IMAGED_GLANCE_DEBUG=0|1 (debug logging: every request; off by default for benchmarks)
#        IMAGED_GLANCE_KEYSTONE=DIR of a test/env/keystone.sh Keystone (remembered): Debian's keystone pipeline
#          (flavor keystone, [keystone_authtoken] as its user imaged) instead of the flavor above
set -euo pipefail

PKG=glance-api
CMD=${1:-}
DIR=${2:-/tmp/imaged-glance}
TIMEOUT=${IMAGED_GLANCE_TIMEOUT:-90}
GRACE=20
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
TPL=$HERE/glance

die() { echo "glance.sh: $*" >&2; exit 1; }
T0=$(date +%s.%N)
elapsed() { awk -v a="$T0" -v b="$(date +%s.%N)" 'BEGIN{print b-a}'; }
log() { printf '[glance.sh %5.1fs] %s\n' "$(elapsed)" "$*" >&2; }

case "$DIR" in /*) ;; *) DIR=$PWD/$DIR ;; esac
DIR=${DIR%/}
# DIR goes into sed replacements, a sqlite URL and file:// URIs: keep it plain.
[[ $DIR =~ ^/[A-Za-z0-9._/-]+$ ]] || die "DIR must match [A-Za-z0-9._/-]: $DIR"
MARK=$DIR/.made-by-imaged-glance-sh
CONF=$DIR/etc/glance-api.conf
PIDF=$DIR/run/glance-api.pid
WPIDF=$DIR/run/workers.pid

# --- package ------------------------------------------------------------------------------
ensure_package() {
  [[ $(dpkg-query -W -f='${Status}' $PKG 2>/dev/null) == 'install ok installed' ]] && command -v glance-api >/dev/null &&
    command -v glance-manage >/dev/null && return 0
  [[ $(id -u) == 0 ]] || die "package $PKG is not installed; run as root or: apt-get install -y --no-install-recommends $PKG"
  log "installing $PKG"
  # The postinst runs `invoke-rc.d glance-api start` (a uwsgi/eventlet glance on :9292, imaged's port).
  # policy-rc.d exiting 101 forbids that; put a temporary one in place unless one already denies it.
  local prc=/usr/sbin/policy-rc.d rc=0 ours_prc=0
  if [[ -x $prc ]]; then "$prc" glance-api start >/dev/null 2>&1 || rc=$?; fi
  if [[ $rc != 101 ]]; then
    [[ -e $prc ]] && mv "$prc" "$prc.imaged-glance-sh.bak"
    printf '#!/bin/sh\n# temporary, test/env/glance.sh: no service starts during apt-get install\nexit 101\n' >"$prc"
    chmod 755 "$prc"; ours_prc=1
    trap 'restore_policy_rc' EXIT
  fi
  export DEBIAN_FRONTEND=noninteractive
  local apt=(apt-get -o DPkg::Lock::Timeout=300 install -y --no-install-recommends $PKG)
  # Retry after an update: a fresh CI image usually has no package lists yet.
  "${apt[@]}" || { apt-get -o DPkg::Lock::Timeout=300 update && "${apt[@]}"; } || die "apt-get install $PKG failed"
  ((ours_prc)) && { restore_policy_rc; trap - EXIT; }
  # The postinst also enabled the boot-time service (it would take :9292, imaged's port): disable it.
  update-rc.d glance-api disable >/dev/null 2>&1 || true
  deb-systemd-helper disable glance-api.service >/dev/null 2>&1 || true
  # Belt and braces: if a distro service got started anyway, stop it through its own init script.
  if [[ -s /run/glance/glance-api.pid || $(ss -Htlnp 'sport = :9292' 2>/dev/null) =~ glance|uwsgi ]]; then
    log "distro glance-api service is running; stopping it"
    /etc/init.d/glance-api stop || true
  fi
  command -v glance-api >/dev/null || die "$PKG installed but glance-api is not on PATH"
}
restore_policy_rc() {
  local prc=/usr/sbin/policy-rc.d
  rm -f "$prc"
  [[ -e $prc.imaged-glance-sh.bak ]] && mv "$prc.imaged-glance-sh.bak" "$prc"
  return 0
}

# --- settings / config ----------------------------------------------------------------------
load_settings() { # knob if set, else what DIR/settings remembers, else the default
  PORT=9393 FLAVOR=noauthowner NEW_DEFAULTS=0 KEYSTONE=
  [[ -f $DIR/settings ]] && . "$DIR/settings"
  PORT=${IMAGED_GLANCE_PORT:-$PORT}
  FLAVOR=${IMAGED_GLANCE_FLAVOR:-$FLAVOR}
  NEW_DEFAULTS=${IMAGED_GLANCE_NEW_DEFAULTS:-$NEW_DEFAULTS}
  [[ $NEW_DEFAULTS == 0 || $NEW_DEFAULTS == 1 ]] || die "IMAGED_GLANCE_NEW_DEFAULTS must be 0 or 1"
  KEYSTONE=${IMAGED_GLANCE_KEYSTONE:-$KEYSTONE}
  [[ -z $KEYSTONE || -f $KEYSTONE/env ]] || die "IMAGED_GLANCE_KEYSTONE=$KEYSTONE has no env file (test/env/keystone.sh start it first)"
  [[ $PORT =~ ^[0-9]+$ ]] || die "bad IMAGED_GLANCE_PORT: $PORT"
  [[ $FLAVOR == noauthowner || $FLAVOR == stock ]] || die "IMAGED_GLANCE_FLAVOR must be noauthowner or stock"
  URL=http://127.0.0.1:$PORT
}

render() { # template -> file, @DIR@ @PORT@ @DEBUG@ @FLAVOR@ @NEW_DEFAULTS@ substituted
  local flavor=noauthowner debug=False new_defaults=False
  [[ $NEW_DEFAULTS == 1 ]] && new_defaults=True
  [[ $FLAVOR == stock ]] && flavor=  # empty flavor = paste pipeline "glance-api"
  [[ ${IMAGED_GLANCE_DEBUG:-0} == 1 ]] && debug=True
  sed -e "s|@DIR@|$DIR|g" -e "s|@PORT@|$PORT|g" -e "s|@DEBUG@|$debug|g" -e "s|@FLAVOR@|$flavor|g" \
    -e "s|@NEW_DEFAULTS@|$new_defaults|g" "$1" >"$2.tmp"
  mv "$2.tmp" "$2"
}

write_config() {
  mkdir -p "$DIR"/{etc/policy.d,etc/conf.d,lib,log,lock,run,state,images,staging,cache,work}
  render "$TPL/glance-api.conf.in" "$CONF"
  render "$TPL/glance-api-paste.ini.in" "$DIR/etc/glance-api-paste.ini"
  cp "$TPL/glance_owner_context.py" "$DIR/lib/"
  echo '{}' >"$DIR/etc/policy.yaml"
  printf 'PORT=%s\nFLAVOR=%s\nNEW_DEFAULTS=%s\nKEYSTONE=%s\n' "$PORT" "$FLAVOR" "$NEW_DEFAULTS" "$KEYSTONE" >"$DIR/settings"
  # --config-dir overlay: the keystone pipeline and keystonemiddleware's options
  rm -f "$DIR/etc/conf.d/keystone.conf"
  if [[ -n $KEYSTONE ]]; then
    (
      . "$KEYSTONE/env"
      printf '[paste_deploy]\nflavor = keystone\n[keystone_authtoken]\nwww_authenticate_uri = %s\nauth_url = %s\nauth_type = password\n' "$KEYSTONE_URL" "$KEYSTONE_URL"
      printf 'username = %s\npassword = %s\nuser_domain_name = Default\nproject_name = service\nproject_domain_name = Default\nregion_name = %s\n' \
        "$KEYSTONE_SERVICE_USER" "$KEYSTONE_SERVICE_PASSWORD" "$KEYSTONE_REGION"
    ) >"$DIR/etc/conf.d/keystone.conf"
  fi
}

# --config-dir: an empty private dir, otherwise oslo.config also reads /etc/glance/glance-api.conf.d.
GLANCE_ARGS=()
glance_args() { GLANCE_ARGS=(--config-file "$CONF" --config-dir "$DIR/etc/conf.d"); }

# glanceclient 4.1 caches ~/.glanceclient/image_schema.json; glance 25's schema has a "stores" property,
# which clashes with image-create-via-import's own --stores, so every later `glance` command dies with
# "argument --stores: conflicting option string". Seed a private HOME with a cache without it
# (glanceclient never rewrites an existing cache file): HOME=$GLANCE_CLIENT_HOME glance ...
seed_glanceclient_home() {
  local d=$DIR/glanceclient-home/.glanceclient
  [[ -s $d/image_schema.json ]] && return 0
  mkdir -p "$d"
  curl -fsS -m 10 "$URL/v2/schemas/image" |
    /usr/bin/python3 -c 'import sys,json; s=json.load(sys.stdin); s["properties"].pop("stores",None); json.dump(s,sys.stdout)' \
      >"$d/image_schema.json.tmp" && mv "$d/image_schema.json.tmp" "$d/image_schema.json" ||
    { rm -f "$d/image_schema.json.tmp"; log "warning: could not seed $d/image_schema.json"; }
}

write_env() {
  {
    echo "GLANCE_URL=$URL"
    echo "GLANCE_DATADIR=$DIR/images"
    echo "GLANCE_LOG=$DIR/log/glance-api.log"
    # owner of images created without X-Project-Id (stock flavor: none, owner is null)
    if [[ $FLAVOR == stock ]]; then echo "GLANCE_PROJECT_ID="; else echo "GLANCE_PROJECT_ID=noauth-project"; fi
    echo "GLANCE_DIR=$DIR"
    echo "GLANCE_CLIENT_HOME=$DIR/glanceclient-home"
  } >"$DIR/env.tmp"
  mv "$DIR/env.tmp" "$DIR/env"
}

# --- process bookkeeping ----------------------------------------------------------------------
# A pid counts only if alive and running glance-api with our conf (pids get reused). An exited but not
# yet reaped (zombie) process has an empty cmdline, so it no longer counts: its socket is closed.
is_ours() {
  local cmd
  [[ -n $1 && -r /proc/$1/cmdline ]] || return 1
  { cmd=$(tr '\0' ' ' <"/proc/$1/cmdline"); } 2>/dev/null || return 1
  [[ $cmd == *glance-api*" --config-file $CONF "* ]]
}
parent_pid() { local p; [[ -f $PIDF ]] && p=$(<"$PIDF") && is_ours "$p" && echo "$p"; }
running() { parent_pid >/dev/null; }
answering() { curl -fsS -o /dev/null -m 5 "$URL/versions" 2>/dev/null; }
# Forked workers (the parent is a session leader via setsid; workers stay in its session even if
# orphaned, so this also finds a respawned or leftover worker).
session_pids() { ps -e -o pid=,sid= | awk -v s="$1" '$2 == s && $1 != s {print $1}'; }

port_free() { [[ -z $(ss -Htln "sport = :$1" 2>/dev/null) ]]; }

log_tail() {
  echo "---- tail $DIR/log/glance-api.log" >&2; tail -n 40 "$DIR/log/glance-api.log" >&2 2>/dev/null || true
  echo "---- tail $DIR/log/glance-api.stdout" >&2; tail -n 20 "$DIR/log/glance-api.stdout" >&2 2>/dev/null || true
}

stop_pids() { # TERM parent first (its handler stops respawning and TERMs workers), then workers; KILL after GRACE s
  local parent=$1 p i alive pids=()
  pids=("$parent")
  [[ -f $WPIDF ]] && for p in $(<"$WPIDF"); do is_ours "$p" && pids+=("$p"); done
  for p in $(session_pids "$parent"); do is_ours "$p" && [[ " ${pids[*]} " != *" $p "* ]] && pids+=("$p"); done
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for ((i = 0; i < GRACE * 10; i++)); do
    alive=0
    for p in "${pids[@]}"; do is_ours "$p" && alive=1; done
    ((alive)) || break
    sleep 0.1
  done
  for p in "${pids[@]}"; do
    if is_ours "$p"; then log "pid $p ignored SIGTERM for $GRACE s, SIGKILL"; kill -KILL "$p" 2>/dev/null || true; fi
  done
  rm -f "$PIDF" "$WPIDF"
  log "stopped glance-api (pids ${pids[*]})"
}

# --- commands --------------------------------------------------------------------------------
cmd_start() {
  ensure_package
  load_settings
  glance_args
  if running; then
    if answering; then log "already running (pid $(parent_pid)) at $URL"; seed_glanceclient_home; write_env; return 0; fi
    log "running (pid $(parent_pid)) but not answering yet; waiting"
  else
    port_free "$PORT" || die "127.0.0.1:$PORT is already in use (set IMAGED_GLANCE_PORT)"
    write_config
    if [[ ! -f $DIR/state/db-synced ]]; then
      # alembic migrations up to wallaby_contract01 (sqlite: 2-4 s); once per DIR
      log "glance-manage db_sync"
      timeout 300 glance-manage "${GLANCE_ARGS[@]}" db_sync >>"$DIR/log/glance-manage.log" 2>&1 ||
        { tail -n 30 "$DIR/log/glance-manage.log" >&2; die "glance-manage db_sync failed (log: $DIR/log/glance-manage.log)"; }
      touch "$DIR/state/db-synced"
    fi
    # PYTHONPATH: the owner-context paste filter. setsid: own session, detached from our terminal.
    # 9>&-: the daemon must not inherit (and hold forever) the lock on DIR/lock.flock.
    PYTHONPATH=$DIR/lib setsid glance-api "${GLANCE_ARGS[@]}" </dev/null >>"$DIR/log/glance-api.stdout" 2>&1 9>&- &
    echo $! >"$PIDF"
    log "launched glance-api (pid $!) on $URL"
  fi
  local parent deadline=$(( $(date +%s) + TIMEOUT ))
  parent=$(<"$PIDF")
  until answering; do
    if ! is_ours "$parent"; then log_tail; rm -f "$PIDF"; die "glance-api (pid $parent) exited during startup"; fi
    if (( $(date +%s) >= deadline )); then
      log_tail; stop_pids "$parent"; die "GET $URL/versions did not answer within $TIMEOUT s"
    fi
    sleep 0.3
  done
  session_pids "$parent" >"$WPIDF"
  seed_glanceclient_home
  write_env
  log "ready: $URL (pid $parent, workers $(tr '\n' ' ' <"$WPIDF")); source $DIR/env"
}

cmd_stop() {
  [[ -d $DIR ]] || return 0
  local parent
  if parent=$(parent_pid); then stop_pids "$parent"; else rm -f "$PIDF" "$WPIDF"; log "not running"; fi
}

cmd_status() {
  [[ -f $MARK ]] || { echo "no glance at $DIR"; return 1; }
  load_settings
  local parent
  if parent=$(parent_pid); then
    echo "glance-api: running (pid $parent, workers $(session_pids "$parent" | tr '\n' ' ')) $URL"
    if answering; then echo "GET $URL/versions: ok"; else echo "GET $URL/versions: not answering"; return 1; fi
  else
    echo "glance-api: stopped"; return 1
  fi
}

# shellcheck source=statedir.sh
. "$HERE/statedir.sh"
lock_state_dir "$CMD" "$MARK" "$DIR/lock.flock" $((TIMEOUT + 360)) glance.sh

case "$CMD" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  purge)
    [[ -e $DIR ]] || exit 0
    cmd_stop; rm -rf "$DIR"; log "purged $DIR" ;;
  env) [[ -f $DIR/env ]] || die "no $DIR/env; run start first"; cat "$DIR/env" ;;
  *) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
