# Sourced by the test-env scripts (glance.sh, keystone.sh): the rm -rf and concurrency safety of their DIR.
# The caller defines die and DIR.

# owns_dir MARK: DIR was made by this script (MARK is its marker file) or is empty.
owns_dir() { [[ -f $1 ]] || [[ -z $(ls -A "$DIR" 2>/dev/null) ]]; }

# lock_state_dir CMD MARK LOCK WAIT NAME: for start/stop/purge, refuse a DIR this script did not make, mark
# it on start, and serialize such commands (e.g. parallel test files all calling `start`) with flock on LOCK
# for at most WAIT s. The lock fd (9) stays open in the calling shell until it exits.
lock_state_dir() {
  local cmd=$1 mark=$2 lock=$3 wait=$4 name=$5
  case "$cmd" in
    start|stop|purge)
      if [[ $cmd == start ]]; then
        owns_dir "$mark" || die "$DIR exists and was not made by $name; refusing to use it"
        mkdir -p "$DIR"; touch "$mark"
      fi
      if [[ -d $DIR ]]; then
        owns_dir "$mark" || die "$DIR was not made by $name; refusing to touch it"
        exec 9>>"$lock"
        flock -w "$wait" 9 || die "$lock held by another $name for too long"
      fi ;;
  esac
}
