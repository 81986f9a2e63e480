#!/usr/bin/env bash
# `make run`: the agent on configs/demo.yaml against a local broker on
# 127.0.0.1:1883 (started here when none listens), with a subscriber that
# prints every message under lineside/v1/# so the results are visible, and
# the fleet dashboard (`lineside dashboard`) whose URL it prints.
# Ctrl-C stops everything this script started.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p var
CONFIG=${CONFIG:-configs/demo.yaml}
BIN=${BIN:-bin/lineside}

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

listening() { (exec 3<>/dev/tcp/127.0.0.1/1883) 2>/dev/null; }
if listening; then
  echo "run: using the broker already listening on 127.0.0.1:1883"
else
  echo "run: starting mosquitto on 127.0.0.1:1883 (log: var/mosquitto.log)"
  printf 'listener 1883 127.0.0.1\nallow_anonymous true\npersistence false\n' > var/mosquitto.conf
  mosquitto -c var/mosquitto.conf > var/mosquitto.log 2>&1 &
  pids+=($!)
  for _ in $(seq 50); do listening && break; sleep 0.1; done
fi

mosquitto_sub -h 127.0.0.1 -p 1883 -v -t 'lineside/v1/#' | cut -c1-220 &
pids+=($!)

# The fleet dashboard in the browser, fed from the same broker.
DASHBOARD=${DASHBOARD:-127.0.0.1:8080}
"$BIN" dashboard --broker tcp://127.0.0.1:1883 --listen "$DASHBOARD" &
pids+=($!)
echo "run: dashboard on http://$DASHBOARD/ (DASHBOARD=host:port to move it)"

"$BIN" run --config "$CONFIG" &
agent=$!
pids+=($agent)
wait "$agent"
