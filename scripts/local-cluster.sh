#!/usr/bin/env bash
# Starts (up) or stops (down) a local Podling cluster on loopback: three
# masters on API ports 8070-8072 and Raft ports 7000-7002, and one worker
# on port 8081 that runs containers on the local Docker Engine. Data and
# logs go under ./data. `up` starts whatever is not running, so it also
# brings back a killed master, then submits a sample task and follows it
# until it completes.
set -euo pipefail

cd "$(dirname "$0")/.."
RUN_DIR=data/run
BIN=bin
MASTERS=http://127.0.0.1:8070,http://127.0.0.1:8071,http://127.0.0.1:8072
PEERS=m1=127.0.0.1:7000,m2=127.0.0.1:7001,m3=127.0.0.1:7002

start() {
  local name=$1
  shift
  "$@" >"$RUN_DIR/$name.log" 2>&1 &
  echo $! >"$RUN_DIR/$name.pid"
}

wait_ready() {
  for _ in $(seq 1 100); do
    if curl -fsS http://127.0.0.1:8070/api/v1/nodes 2>/dev/null | grep -q '"status":"online"'; then
      return 0
    fi
    sleep 0.2
  done
  echo "the cluster did not become ready; see the logs in $RUN_DIR" >&2
  exit 1
}

# follow prints each status change of a task until it is final.
follow() {
  local id=$1 last="" status=""
  for _ in $(seq 1 300); do
    status=$(curl -fsS "http://127.0.0.1:8070/api/v1/tasks/$id" | sed -n 's/.*"status":"\([a-z]*\)".*/\1/p')
    if [ "$status" != "$last" ]; then
      echo "  task $id: $status"
      last=$status
    fi
    case $status in completed | failed) return 0 ;; esac
    sleep 0.2
  done
  echo "task $id did not finish in time" >&2
  return 1
}

# running reports whether the process recorded for name is alive. A
# killed process that was not reaped yet is a zombie, which kill -0 still
# finds, so on Linux its state is read as well.
running() {
  local pidfile="$RUN_DIR/$1.pid" pid
  [ -f "$pidfile" ] || return 1
  pid=$(cat "$pidfile")
  kill -0 "$pid" 2>/dev/null || return 1
  if [ -r "/proc/$pid/stat" ] && grep -q ') Z ' "/proc/$pid/stat"; then
    return 1
  fi
}

# up starts every process of the cluster that is not running, so after a
# master was killed it brings that master back with its data.
up() {
  mkdir -p "$RUN_DIR"
  local started=0
  for i in 1 2 3; do
    if running "m$i"; then
      echo "m$i is already running"
      continue
    fi
    start "m$i" "$BIN/podling-master" -id "m$i" -http-addr "127.0.0.1:807$((i - 1))" \
      -raft-addr "127.0.0.1:700$((i - 1))" -data-dir "data/m$i" -peers "$PEERS"
    started=$((started + 1))
  done
  if running worker; then
    echo "worker-1 is already running"
  else
    start worker "$BIN/podling-worker" -node-id worker-1 -hostname 127.0.0.1 -port 8081 \
      -listen-addr 127.0.0.1:8081 -host-port-ip 127.0.0.1 -masters "$MASTERS"
    started=$((started + 1))
  fi
  if [ "$started" -eq 0 ]; then
    echo "the local cluster is already running; stop it with: make stop" >&2
    exit 1
  fi
  wait_ready
  echo "cluster is up: masters $MASTERS, worker-1 on http://127.0.0.1:8081"

  echo "submitting a sample task (podling/echo:dev exits 0 after one second):"
  local answer id
  answer=$(curl -fsS -X POST http://127.0.0.1:8071/api/v1/tasks -H 'Content-Type: application/json' \
    -d '{"name":"hello","image":"podling/echo:dev","env":{"ECHO_EXIT_CODE":"0","ECHO_SLEEP":"1s"}}')
  id=$(echo "$answer" | sed -n 's/.*"taskId":"\([^"]*\)".*/\1/p')
  echo "  task $id: $(echo "$answer" | sed -n 's/.*"status":"\([a-z]*\)".*/\1/p') (as created)"
  follow "$id"
  cat <<TEXT

Try next:
  curl -s http://127.0.0.1:8070/health
  curl -s http://127.0.0.1:8072/api/v1/tasks
  kill -9 \$(cat $RUN_DIR/<leader>.pid)     # the leader's id is in /health
Logs are in $RUN_DIR. Stop everything with: make stop
TEXT
}

down() {
  local pids=""
  for name in worker m1 m2 m3; do
    local pidfile="$RUN_DIR/$name.pid"
    if [ -f "$pidfile" ]; then
      kill "$(cat "$pidfile")" 2>/dev/null && pids="$pids $(cat "$pidfile")"
      rm -f "$pidfile"
    fi
  done
  # Masters hand leadership over and workers leave before they exit.
  for pid in $pids; do
    for _ in $(seq 1 100); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
  done
  local containers
  containers=$(docker ps -aq --filter label=podling.managed=true 2>/dev/null || true)
  if [ -n "$containers" ]; then
    docker rm -f $containers >/dev/null
  fi
  docker network rm podling >/dev/null 2>&1 || true
  echo "local cluster stopped"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  *)
    echo "usage: $0 up|down" >&2
    exit 2
    ;;
esac
