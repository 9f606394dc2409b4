#!/usr/bin/env bash
# Benchmark of the gateway against vsftpd, nginx, OpenSSH's sshd, rclone and S3Proxy on this machine.
# Usage: bench/run.sh [--quick] [--runs N] [--warmup N] [--only put-big-local,small-local,...]
# Needs root (installs Debian packages, adds a system user for vsftpd, mounts FUSE).
# Not part of the test suite or CI. Everything listens on 127.0.0.1 only.
set -euo pipefail

bench=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$bench/.." && pwd)
jar=${GATEWAY_JAR:-$repo/gateway/target/gateway.jar}
gateway_java_opts=${GATEWAY_JAVA_OPTS:--Xmx256m}
if [ -d /dev/shm ] && [ -w /dev/shm ]; then workroot=/dev/shm; else workroot=${TMPDIR:-/tmp}; fi
work=${BENCH_WORKDIR:-$workroot/tgw-bench}
# Azurite keeps the bytes of deleted blobs until its garbage collection (every 10 minutes):
# on disk, not in the tmpfs, where up to 20 GiB of them would take the machine's memory.
azurite_dir=${BENCH_AZURITE_DIR:-/var/tmp/tgw-bench-azurite}

[ "$(id -u)" = 0 ] || { echo "bench: run as root (apt-get, useradd, FUSE)" >&2; exit 1; }

# 1. Peers from Debian packages.
need=()
for p in vsftpd nginx openssh-server openssh-client rclone lftp fuse3 curl python3-boto3 openjdk-17-jdk-headless maven; do
  dpkg-query -W -f '${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "bench: installing ${need[*]}" >&2
  apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >&2
fi
# The packages' own services are not used: the bench starts its own instances (sshd on its
# own port and config in the work folder; the system's sshd, if any, is left alone).
# Azurite (the Azure Blob service of the Azure rows), from npm.
if ! command -v azurite-blob >/dev/null; then
  command -v npm >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q nodejs npm >&2
  npm install -g azurite@3.37.0 >&2
fi

# 2. vsftpd and sshd log in real system users.
if ! id tgwbench >/dev/null 2>&1; then
  useradd -m -s /bin/bash tgwbench
fi
echo 'tgwbench:tgwbench-pw' | chpasswd
mkdir -p /var/run/vsftpd/empty

# 3. S3Proxy from Maven Central, run as its own process.
cp_file="$bench/s3proxy/target/classpath.txt"
if [ ! -s "$cp_file" ]; then
  echo "bench: resolving S3Proxy 2.6.0" >&2
  mvn -q -B -f "$bench/s3proxy/pom.xml" dependency:build-classpath -Dmdep.outputFile="$cp_file" >&2
fi

# 4. The gateway.
if [ ! -f "$jar" ]; then
  echo "bench: building the gateway" >&2
  (cd "$repo" && mvn -q -B package -DskipTests) >&2
fi

ulimit -n "$(ulimit -Hn)"   # 2,000 idle connections and more
logs=${TMPDIR:-/tmp}/tgw-bench-logs
cleanup() {
  # keep the servers' logs of the last run; drop the test data
  rm -rf "$logs"; [ -d "$work/logs" ] && cp -r "$work/logs" "$logs" && echo "bench: servers' logs in $logs" >&2
  rm -rf "$work" "$azurite_dir"
}
trap cleanup EXIT
/usr/bin/python3 "$bench/bench.py" --workdir "$work" --azurite-dir "$azurite_dir" --jar "$jar" \
  --s3proxy-classpath "$cp_file" --gateway-java-opts="$gateway_java_opts" \
  --results "$bench/results/latest.md" "$@"
