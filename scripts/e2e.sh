#!/usr/bin/env bash
# End-to-end check of the built jar, as a new user runs it: start on the embedded
# defaults, upload and download over HTTP and FTP with curl, compare SHA-256 sums,
# and read the totals with the `stats` command.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
jar="$repo/gateway/target/gateway.jar"
[ -f "$jar" ] || { echo "e2e: $jar is missing; run mvn package first" >&2; exit 1; }

work=$(mktemp -d)
pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"; wait "$pid" || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work"

fail() { echo "e2e: FAIL: $*" >&2; echo "--- gateway log ---" >&2; cat "$work/gateway.log" >&2 || true; exit 1; }

java -jar "$jar" serve > gateway.log 2>&1 &
pid=$!
for _ in $(seq 1 100); do
  grep -q "listening: http" gateway.log 2>/dev/null && grep -q "listening: ftp" gateway.log && break
  kill -0 "$pid" 2>/dev/null || fail "the gateway exited at start-up"
  sleep 0.2
done
grep -q "listening: http" gateway.log || fail "the gateway did not start listening"

head -c 5000000 /dev/urandom > http-in.bin
head -c 3000000 /dev/urandom > ftp-in.bin

# HTTP: curl -T, then download
code=$(curl -sS -o put.json -w '%{http_code}' -u demo:demo -T http-in.bin http://127.0.0.1:8080/files/e2e/http.bin)
[ "$code" = 201 ] || fail "HTTP PUT answered $code: $(cat put.json)"
curl -sSf -u demo:demo -o http-out.bin http://127.0.0.1:8080/files/e2e/http.bin
[ "$(sha256sum < http-in.bin)" = "$(sha256sum < http-out.bin)" ] || fail "HTTP download differs from the upload"
[ "$(sha256sum < http-in.bin)" = "$(sha256sum < data/files/demo/e2e/http.bin)" ] || fail "the stored file differs from the HTTP upload"

# FTP: curl -T ftp://, then download
curl -sSf -T ftp-in.bin --ftp-create-dirs ftp://demo:demo@127.0.0.1:2121/e2e/ftp.bin
curl -sSf -o ftp-out.bin ftp://demo:demo@127.0.0.1:2121/e2e/ftp.bin
[ "$(sha256sum < ftp-in.bin)" = "$(sha256sum < ftp-out.bin)" ] || fail "FTP download differs from the upload"
[ "$(sha256sum < ftp-in.bin)" = "$(sha256sum < data/files/demo/e2e/ftp.bin)" ] || fail "the stored file differs from the FTP upload"

# Totals: exactly the bytes sent and received.
java -jar "$jar" stats --json > stats.json
java -jar "$jar" stats
jq -e '.transferred.bytesIn == 8000000 and .transferred.bytesOut == 8000000
       and .transferred.filesIn == 2 and .transferred.filesOut == 2
       and .transferred.byProtocol.http.bytesIn == 5000000 and .transferred.byProtocol.ftp.bytesIn == 3000000
       and .stored.bytes == 8000000 and .stored.objects == 2' stats.json > /dev/null \
  || fail "totals differ from the bytes sent: $(cat stats.json)"

# A clean stop on SIGTERM.
kill -TERM "$pid"
status=0; wait "$pid" || status=$?
pid=""
[ "$status" = 0 ] || fail "the gateway exited with $status on SIGTERM"
grep -q "stopped" gateway.log || fail "no orderly stop in the log"
echo "e2e: OK (HTTP and FTP round trips match, totals exact, clean stop)"
