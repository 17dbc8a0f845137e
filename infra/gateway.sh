#!/usr/bin/env bash
# Starts and stops the local gateway (bin/tglocal serve) in the background, by pid.
#   infra/gateway.sh start [port] [-lambda] | stop | status
set -euo pipefail
cd "$(dirname "$0")/.."
state=.local
pidfile=$state/run/gateway.pid
log=$state/logs/gateway.log
mkdir -p "$state/run" "$state/logs"

running() { [[ -f $pidfile ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

case "${1:-}" in
start)
  port=${2:-3000}
  mode=${3:-}
  url=http://127.0.0.1:$port
  if running; then
    echo "gateway      $url  pid $(cat "$pidfile")  restarting to pick up changes"
    "$0" stop >/dev/null
  fi
  setsid nohup bin/tglocal serve -state "$state" -addr "127.0.0.1:$port" $mode >>"$log" 2>&1 </dev/null &
  echo $! >"$pidfile"
  for _ in $(seq 1 150); do
    if curl -s -o /dev/null "$url/tokens/self"; then break; fi
    if ! running; then echo "gateway failed to start; last lines of $log:"; tail -n 30 "$log"; exit 1; fi
    sleep 0.2
  done
  curl -s -o /dev/null "$url/tokens/self" || { echo "gateway did not answer on $url; see $log"; exit 1; }
  ses=$(grep -E '^AWS_ENDPOINT_URL_SES=' "$state/env" | cut -d= -f2- | tr -d "'" || true)
  cat <<MSG

tokengate is running.
  API            $url   (routes from template.yaml; log: $log)
  console        $url/console/   (sign in by pasting the admin token)
  admin token    $state/admin-token   (mode 0600)
  SES mail view  ${ses:-http://127.0.0.1:8005}
  stop           make stop

Try it:
  export TOKEN=\$(cat $state/admin-token)
  curl -s -H "Authorization: Bearer \$TOKEN" $url/tokens/self
  curl -s -H "Authorization: Bearer \$TOKEN" -H 'Content-Type: application/json' \\
       -d '{"name":"ci-deploy","scopes":["tokens:read"],"expiresIn":"1m"}' $url/tokens

MSG
  ;;
stop)
  if running; then
    pid=$(cat "$pidfile")
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
    echo "gateway stopped (pid $pid)"
  fi
  rm -f "$pidfile"
  ;;
status)
  if running; then echo "gateway      running  pid $(cat "$pidfile")"; else echo "gateway      stopped"; fi
  ;;
*)
  echo "usage: $0 start [port] [-lambda] | stop | status" >&2; exit 2 ;;
esac
