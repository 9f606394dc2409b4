#!/usr/bin/env bash
# Scale figures of 1, 2 and 3 gateway nodes on one PostgreSQL ledger behind HAProxy, and
# of the ledger alone (bench/cluster.py says what it measures).
# Usage: bench/cluster.sh [--runs N] [--nodes 1,2,3] [--only gateway,ledger] [--results FILE]
# Needs root (creates PostgreSQL databases as the postgres user), PostgreSQL on
# 127.0.0.1:5432 with the role gateway/gateway (as .ci/run sets it up), haproxy and curl.
# Not part of the test suite or CI. Everything listens on 127.0.0.0/8 only.
set -euo pipefail

bench=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$bench/.." && pwd)
jar=${GATEWAY_JAR:-$repo/gateway/target/gateway.jar}
if [ -d /dev/shm ] && [ -w /dev/shm ]; then workroot=/dev/shm; else workroot=${TMPDIR:-/tmp}; fi
work=${BENCH_WORKDIR:-$workroot/tgw-cluster-bench}

[ "$(id -u)" = 0 ] || { echo "cluster bench: run as root (PostgreSQL databases)" >&2; exit 1; }
for tool in haproxy curl java psql; do
  command -v "$tool" > /dev/null || { echo "cluster bench: $tool is missing" >&2; exit 1; }
done
[ -f "$jar" ] || (cd "$repo" && mvn -q -B package -DskipTests) >&2
ulimit -n "$(ulimit -Hn)"
trap 'rm -rf "$work"' EXIT
/usr/bin/python3 "$bench/cluster.py" --workdir "$work" --jar "$jar" \
  --gateway-java-opts="${GATEWAY_JAVA_OPTS:--Xmx256m}" --results "$bench/results/cluster-latest.md" "$@"
