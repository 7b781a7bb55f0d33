# shellcheck shell=bash
# Shared by the fault scripts of the three-master demo (docker-compose.yml).
# Each script defines apply and heal, sets CHECKER_FLAGS if it needs
# other timings, and ends with `chaos_main NAME "$@"`. Then:
#
#   deploy/chaos/NAME          runs the checker (bin/podling-chaos), which
#                              calls this script with apply and heal;
#                              ROUNDS=N faults in a row (default 1)
#   deploy/chaos/NAME apply    injects the fault only
#   deploy/chaos/NAME heal     undoes it
#
# Extra checker flags can be given in CHAOS_FLAGS, such as
# CHAOS_FLAGS='-hold 15s'.
set -euo pipefail

CHAOS_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_DIR=$(cd "$CHAOS_DIR/../.." && pwd)
DEMO_DIR=${PODLING_DEMO_DIR:-$REPO_DIR/data/demo}
CHAOS_BIN=${PODLING_CHAOS_BIN:-$REPO_DIR/bin/podling-chaos}
# The network the masters and workers talk on, as docker-compose.yml names it.
# shellcheck disable=SC2034 # used by the scripts that source this file
CONTROL_NETWORK=podling-demo-control
MASTERS=(m1 m2 m3)
# shellcheck disable=SC2034
WORKERS=(w1 w2)
CHECKER_FLAGS=()

# container_of prints the container of a compose service.
container_of() { echo "podling-demo-$1"; }

# master_url prints the API URL that docker-compose.yml publishes for a master.
master_url() {
  case $1 in
    m1) echo http://127.0.0.1:18070 ;;
    m2) echo http://127.0.0.1:18071 ;;
    m3) echo http://127.0.0.1:18072 ;;
    *) echo "unknown master $1" >&2 && return 1 ;;
  esac
}

# leader prints the ID of the master that reports itself as leader,
# trying for up to 30 seconds.
leader() {
  local m
  for _ in $(seq 1 60); do
    for m in "${MASTERS[@]}"; do
      if curl -fsS -m 1 "$(master_url "$m")/health" 2>/dev/null | grep -q '"raftState":"Leader"'; then
        echo "$m"
        return 0
      fi
    done
    sleep 0.5
  done
  echo "no master reports itself as leader" >&2
  return 1
}

# save_target and load_target carry the fault's target from apply to heal.
save_target() {
  mkdir -p "$DEMO_DIR"
  echo "$1" >"$DEMO_DIR/chaos-$CHAOS_NAME.target"
}

load_target() {
  cat "$DEMO_DIR/chaos-$CHAOS_NAME.target"
}

# container_state prints running, paused, exited, ...
container_state() {
  docker inspect -f '{{.State.Status}}' "$1"
}

run_checker() {
  if [ ! -x "$CHAOS_BIN" ]; then
    echo "$CHAOS_BIN is missing: run make build" >&2
    exit 2
  fi
  local extra=()
  read -r -a extra <<<"${CHAOS_FLAGS:-}"
  exec "$CHAOS_BIN" -name "$CHAOS_NAME" -fault "$CHAOS_DIR/$CHAOS_NAME" -rounds "${ROUNDS:-1}" \
    ${CHECKER_FLAGS[@]+"${CHECKER_FLAGS[@]}"} ${extra[@]+"${extra[@]}"}
}

chaos_main() {
  CHAOS_NAME=$1
  shift
  case "${1:-}" in
    apply) apply ;;
    heal) heal ;;
    "") run_checker ;;
    *)
      echo "usage: $0 [apply|heal]" >&2
      exit 2
      ;;
  esac
}
