#!/usr/bin/env bash
# End-to-end check of the built jar, as a new user runs it: start on the embedded
# defaults, upload and download over HTTP and FTP with curl, compare SHA-256 sums,
# read the totals with the `stats` command, and watch uploads live as the dashboard does.
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

# The dashboard on the embedded defaults: demo logs in with the form, the page loads, and
# the event stream shows an HTTP and an FTP upload while curl sends them slowly.
ui=http://127.0.0.1:8080/ui
code=$(curl -sS -o /dev/null -w '%{http_code}' -c cookies.txt -H 'Origin: http://127.0.0.1:8080' \
  --data-urlencode user=demo --data-urlencode password=demo "$ui/login")
[ "$code" = 303 ] || fail "the dashboard login answered $code"
grep -q tg_session cookies.txt || fail "the dashboard login set no session cookie"
# Saved first: under pipefail, grep -q closing the pipe early would fail curl (exit 23).
curl -sSf -b cookies.txt -o dashboard.html "$ui/" || fail "the dashboard page did not load after login"
grep -q 'id="view-overview"' dashboard.html || fail "the dashboard page lacks its overview after login"
curl -sSN -b cookies.txt http://127.0.0.1:8080/api/events > events.txt 2>/dev/null &
events=$!
head -c 3000000 /dev/urandom > slow.bin
curl -sSf -u demo:demo --limit-rate 1M -T slow.bin http://127.0.0.1:8080/files/e2e/slow-http.bin > /dev/null &
slow_http=$!
curl -sSf --limit-rate 1M -T slow.bin ftp://demo:demo@127.0.0.1:2121/e2e/slow-ftp.bin &
slow_ftp=$!
wait "$slow_http" || fail "the slow HTTP upload failed"
wait "$slow_ftp" || fail "the slow FTP upload failed"
sleep 1.5
kill "$events" 2>/dev/null || true
wait "$events" 2>/dev/null || true
grep '^data: ' events.txt | sed 's/^data: //' | jq -s -e '
    ([.[].active[] | select(.user == "demo" and .path == "/e2e/slow-http.bin" and .size == 3000000)] | length > 0)
    and ([.[].active[] | select(.user == "demo" and .protocol == "ftp" and .path == "/e2e/slow-ftp.bin")] | length > 0)
    and (last.active | length == 0) and last.totals.filesIn == 4' > /dev/null \
  || fail "the event stream did not show both uploads live: $(tail -c 2000 events.txt)"
curl -sSf -b cookies.txt http://127.0.0.1:8080/api/throughput \
  | jq -e '[.minutes[] | select(.direction == "in") | .bytes] | add == 14000000' > /dev/null \
  || fail "the throughput minutes do not add up to the bytes uploaded"
csrf=$(curl -sSf -b cookies.txt "$ui/session" | jq -r .csrf)
code=$(curl -sS -o /dev/null -w '%{http_code}' -b cookies.txt -X POST -H "X-CSRF-Token: $csrf" "$ui/logout")
[ "$code" = 204 ] || fail "the dashboard logout answered $code"
code=$(curl -sS -o /dev/null -w '%{http_code}' -b cookies.txt http://127.0.0.1:8080/api/stats)
[ "$code" = 401 ] || fail "the session still works after logout ($code)"

# A clean stop on SIGTERM.
kill -TERM "$pid"
status=0; wait "$pid" || status=$?
pid=""
[ "$status" = 0 ] || fail "the gateway exited with $status on SIGTERM"
grep -q "stopped" gateway.log || fail "no orderly stop in the log"
echo "e2e: OK (HTTP and FTP round trips match, totals exact, the dashboard shows uploads live, clean stop)"
