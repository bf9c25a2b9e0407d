#!/bin/sh
# Runs a learner's Jupyter server with the learner's own labcloud beside it:
#     start-labcloud jupyterhub-singleuser [ARGS...]
# labcloud listens on 127.0.0.1:$LABCLOUD_PORT (default 4566; with LABCLOUD_PORT_BASE set and no
# LABCLOUD_PORT, base + the user's uid, so learners sharing one machine never share a port) and keeps
# its state in $LABCLOUD_STATE_DIR (default ~/.labcloud, private to the learner). The server starts only
# once labcloud answers, so the notebooks' labcloud.start() finds it; both stop together.
set -u

if [ -z "${LABCLOUD_PORT:-}" ]; then
  if [ -n "${LABCLOUD_PORT_BASE:-}" ]; then
    LABCLOUD_PORT=$((LABCLOUD_PORT_BASE + $(id -u)))
  else
    LABCLOUD_PORT=4566
  fi
fi
LABCLOUD_STATE_DIR=${LABCLOUD_STATE_DIR:-$HOME/.labcloud}
export LABCLOUD_PORT LABCLOUD_STATE_DIR
mkdir -p "$LABCLOUD_STATE_DIR"

# A stop (the pod's or the systemd unit's SIGTERM) reaches both; labcloud ends its jobs and saves its state.
# Set before anything starts, so a stop that comes early still stops labcloud.
stopping=
cloud=
server=
trap 'stopping=1; kill -TERM $server $cloud 2>/dev/null' TERM INT

labcloud up --port "$LABCLOUD_PORT" --state-dir "$LABCLOUD_STATE_DIR" >>"$LABCLOUD_STATE_DIR/labcloud.log" 2>&1 &
cloud=$!

tries=0
until labcloud status --port "$LABCLOUD_PORT" >/dev/null 2>&1; do
  if [ -n "$stopping" ]; then
    wait "$cloud"
    exit 143
  fi
  tries=$((tries + 1))
  if ! kill -0 "$cloud" 2>/dev/null || [ "$tries" -ge 300 ]; then
    echo "start-labcloud: labcloud did not start on port $LABCLOUD_PORT; its log:" >&2
    tail -n 20 "$LABCLOUD_STATE_DIR/labcloud.log" >&2
    kill -TERM "$cloud" 2>/dev/null
    exit 1
  fi
  sleep 0.2
done

if [ -n "$stopping" ]; then  # stopped while labcloud was starting: never start the server
  kill -TERM "$cloud" 2>/dev/null
  wait "$cloud"
  exit 143
fi
"$@" &
server=$!
wait "$server"
status=$?
if kill -0 "$server" 2>/dev/null; then
  wait "$server"
  status=$?
fi
kill -TERM "$cloud" 2>/dev/null
wait "$cloud"
exit "$status"
