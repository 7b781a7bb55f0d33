#!/usr/bin/env bash
# Starts (up), checks (check) or removes (down) the three-master demo of
# docker-compose.yml: masters m1-m3 and workers w1-w2 in containers, and
# HAProxy from the host in front of the masters on 127.0.0.1:8070.
# `up` expects the images of `make images`; `make demo` builds them first.
#
# COMPOSE is the compose command ("docker compose" or "docker-compose");
# without it the script picks one. HAProxy's pid file and the demo's notes
# live in PODLING_DEMO_DIR (data/demo).
set -euo pipefail

cd "$(dirname "$0")/.."
PROJECT=podling-demo
DEMO_DIR=${PODLING_DEMO_DIR:-data/demo}
LB=http://localhost:8070
HAPROXY_CFG=deploy/haproxy/haproxy-host.cfg
HAPROXY_PID=$DEMO_DIR/haproxy.pid
# Host ports the demo binds: the load balancer and the masters' APIs.
PORTS=(8070 18070 18071 18072)
# Node IDs of the demo's workers, as docker-compose.yml sets them.
NODE_IDS=(demo-w1 demo-w2)
PODS_NETWORK=podling-demo-pods
PORT_WAIT=${PODLING_DEMO_PORT_WAIT:-60}

if [ -z "${COMPOSE:-}" ]; then
  if docker compose version >/dev/null 2>&1; then COMPOSE="docker compose"; else COMPOSE=docker-compose; fi
fi

compose() {
  # COMPOSE is one or two words.
  # shellcheck disable=SC2086
  $COMPOSE -p "$PROJECT" -f docker-compose.yml "$@"
}

# wait_for runs a command until it succeeds, at most $1 seconds, then fails
# with the message $2.
wait_for() {
  local seconds=$1 what=$2
  shift 2
  local deadline=$((SECONDS + seconds))
  until "$@"; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "timed out after ${seconds}s waiting for $what" >&2
      return 1
    fi
    sleep 0.5
  done
}

port_busy() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

ports_free() {
  local p
  for p in "${PORTS[@]}"; do
    if port_busy "$p"; then
      return 1
    fi
  done
}

haproxy_running() {
  [ -f "$HAPROXY_PID" ] && [ "$(cat "/proc/$(cat "$HAPROXY_PID")/comm" 2>/dev/null)" = haproxy ]
}

# field prints the first string value of a JSON field in the input.
field() {
  sed -n "s/.*\"$1\":\"\\([^\"]*\\)\".*/\\1/p" | head -n 1
}

# post sends a create through the load balancer with an idempotency key,
# so that running the step again creates nothing new.
post() {
  curl -fsS -X POST "$LB$1" -H 'Content-Type: application/json' -H "Idempotency-Key: demo-$2" -d "$3"
}

lb_ready() { curl -fsS -m 2 "$LB/ready" >/dev/null 2>&1; }

workers_online() {
  [ "$(curl -fsS -m 2 "$LB/api/v1/nodes" 2>/dev/null | grep -o '"status":"online"' | wc -l)" -ge 2 ]
}

task_done() {
  local status
  status=$(curl -fsS -m 5 "$LB/api/v1/tasks/$1" 2>/dev/null | field status)
  [ "$status" = completed ] || [ "$status" = failed ]
}

endpoint_ready() {
  curl -fsS -m 5 "$LB/api/v1/services/$1/endpoints" 2>/dev/null | grep -q '"addresses":\[{'
}

start_haproxy() {
  command -v haproxy >/dev/null || {
    echo "haproxy is not installed: apt-get install -y haproxy" >&2
    return 1
  }
  haproxy -c -q -f "$HAPROXY_CFG"
  haproxy -f "$HAPROXY_CFG" -D -p "$HAPROXY_PID"
}

submit() {
  local task pod service
  task=$(post /api/v1/tasks task \
    '{"name":"hello","image":"podling/echo:dev","env":{"ECHO_EXIT_CODE":"0"}}' | field taskId)
  pod=$(post /api/v1/pods pod '{"name":"web","labels":{"app":"web"},"containers":[{"name":"echo",
    "image":"podling/echo:dev","ports":[{"name":"http","containerPort":8080}],
    "readinessProbe":{"httpGet":{"path":"/healthz","port":8080},"periodSeconds":1}}]}' | field podId)
  service=$(post /api/v1/services service \
    '{"name":"web","selector":{"app":"web"},"ports":[{"name":"http","port":80,"targetPort":8080}]}' | field serviceId)
  printf 'task=%s\npod=%s\nservice=%s\n' "$task" "$pod" "$service" >"$DEMO_DIR/objects"
  echo "submitted task $task (echo, exits 0), pod $pod (app=web) and service $service"
}

up() {
  if haproxy_running || [ -n "$(compose ps -q 2>/dev/null)" ]; then
    echo "the demo is already running; remove it with: make demo-down" >&2
    exit 1
  fi
  if ! ports_free; then
    echo "a host port of ${PORTS[*]} is in use; waiting up to ${PORT_WAIT}s for it to be free"
  fi
  wait_for "$PORT_WAIT" "host ports ${PORTS[*]} to be free" ports_free
  mkdir -p "$DEMO_DIR"
  compose up -d
  start_haproxy
  echo "HAProxy listens on 127.0.0.1:8070 (pid $(cat "$HAPROXY_PID"))"
  wait_for 90 "$LB/ready" lb_ready
  wait_for 90 "both workers to be online" workers_online
  submit
  # shellcheck source=/dev/null
  source "$DEMO_DIR/objects"
  wait_for 90 "task $task to finish" task_done "$task"
  echo "task $task: $(curl -fsS "$LB/api/v1/tasks/$task" | field status)"
  wait_for 90 "a ready endpoint of service $service" endpoint_ready "$service"
  echo "service $service: ready endpoint $(curl -fsS "$LB/api/v1/services/$service/endpoints" | field address)"
  guide "$task" "$service"
}

guide() {
  cat <<TEXT

The demo is up. Everything goes through the load balancer at $LB:
  curl -s $LB/api/v1/cluster
  curl -s $LB/api/v1/nodes
  curl -s $LB/api/v1/tasks/$1
  curl -s "$LB/api/v1/tasks/$1/logs?tail=20"
  curl -s $LB/api/v1/services/$2/endpoints
Each master also answers on its own port: 127.0.0.1:18070 (m1), 18071 (m2), 18072 (m3).
Pods are on the Docker network $PODS_NETWORK; the host reaches their IPs.
Break it: make chaos. Remove it: make demo-down.
TEXT
}

# check verifies a running demo: the task completed, the service has a
# ready endpoint, and its pod answers on its IP.
check() {
  # shellcheck source=/dev/null
  source "$DEMO_DIR/objects"
  lb_ready || { echo "the load balancer is not ready" >&2 && return 1; }
  local status address
  status=$(curl -fsS "$LB/api/v1/tasks/$task" | field status)
  [ "$status" = completed ] || { echo "task $task is $status, want completed" >&2 && return 1; }
  address=$(curl -fsS "$LB/api/v1/services/$service/endpoints" | field address)
  [ -n "$address" ] || { echo "service $service has no ready endpoint" >&2 && return 1; }
  curl -fsS -m 5 "http://$address/" >/dev/null || { echo "pod at $address does not answer" >&2 && return 1; }
  echo "demo check passed: task $task completed, service $service serves at $address"
}

stop_haproxy() {
  if haproxy_running; then
    kill "$(cat "$HAPROXY_PID")"
    wait_for 10 "HAProxy to stop" eval '! haproxy_running'
    echo "stopped HAProxy"
  fi
  rm -f "$HAPROXY_PID"
}

# remove_worker_containers removes the pods and tasks the demo's workers
# started on the host's engine.
remove_worker_containers() {
  local node ids
  for node in "${NODE_IDS[@]}"; do
    ids=$(docker ps -aq --filter label=podling.managed=true --filter "label=podling.node-id=$node")
    if [ -n "$ids" ]; then
      # shellcheck disable=SC2086 # one ID per word
      docker rm -f $ids >/dev/null
      echo "removed $(echo "$ids" | wc -w) containers of worker $node"
    fi
  done
}

down() {
  stop_haproxy
  # Stop the workers first, so that none starts a container again.
  compose stop -t 15 w1 w2 >/dev/null 2>&1 || true
  remove_worker_containers
  compose down -v --remove-orphans
  # Left only when something outside compose still used it.
  docker network rm "$PODS_NETWORK" >/dev/null 2>&1 || true
  rm -rf "$DEMO_DIR"
  echo "demo removed"
}

case "${1:-}" in
  up) up ;;
  check) check ;;
  down) down ;;
  *)
    echo "usage: $0 up|check|down" >&2
    exit 2
    ;;
esac
