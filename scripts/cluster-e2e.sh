#!/usr/bin/env bash
# End-to-end check of several gateway nodes behind HAProxy, with the built jar: three
# nodes share a PostgreSQL ledger and one local-disk backend folder; clients upload
# through HAProxy over FTP, HTTP, SFTP and WebDAV; one node is killed (SIGKILL) with
# uploads in flight. The surviving nodes keep serving, fail the dead node's uploads once
# after the lease, and their totals, the ledger, the backend and `reconcile` agree to the
# byte with what the clients saw.
#
# Needs: java, haproxy, curl, jq, sha256sum, OpenSSH's sftp and ssh-keygen, PostgreSQL on
# 127.0.0.1:5432 with the role `gateway` (password `gateway`; .ci/run creates it), and
# root or `su postgres` to create and drop a database of its own.
# Usage: scripts/cluster-e2e.sh [JAR]   (default gateway/target/gateway.jar)
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
jar="${1:-$repo/gateway/target/gateway.jar}"
[ -f "$jar" ] || { echo "cluster-e2e: $jar is missing; run mvn package first" >&2; exit 1; }
for tool in java haproxy curl jq sha256sum sftp ssh-keygen psql; do
  command -v "$tool" > /dev/null || { echo "cluster-e2e: $tool is missing" >&2; exit 1; }
done

# PROXY protocol between HAProxy and the nodes: HAProxy sends a PROXY v2 header on every
# connection (health checks included), and each node expects it (listeners.proxy-protocol),
# so that bans, limits and logs see the clients. CLUSTER_E2E_PROXY_PROTOCOL=false runs
# the same checks without it.
proxy_protocol=${CLUSTER_E2E_PROXY_PROTOCOL:-true}

started=$(date +%s)
work=$(mktemp -d)
# Loopback addresses of our own, so that other gateways on this machine do not collide:
# HAProxy on .10, the nodes on .11, .12 and .13 of a 127.N.0.0 network.
net="127.$((RANDOM % 150 + 100)).0"
lb="$net.10"
nodes=(gw-1 gw-2 gw-3)
declare -A addr=([gw-1]="$net.11" [gw-2]="$net.12" [gw-3]="$net.13")
declare -A passive=([gw-1]="50110-50129" [gw-2]="50130-50149" [gw-3]="50150-50169")
declare -A pid=()
haproxy_pid=""
db="gateway_cluster_e2e_$$_$RANDOM"
db_created=false
lease=3s
auth=(-u admin:secret)
# What the script asks a node itself (not through HAProxy): with the PROXY protocol on, a
# node takes only connections that start with a PROXY header, which curl can send.
direct=("${auth[@]}")
if $proxy_protocol; then direct+=(--haproxy-protocol); fi

cleanup() {
  for n in "${!pid[@]}"; do
    p=${pid[$n]}
    if [ -n "$p" ] && kill -0 "$p" 2> /dev/null; then kill -TERM "$p"; fi
  done
  for n in "${!pid[@]}"; do wait "${pid[$n]}" 2> /dev/null || true; done
  if [ -n "$haproxy_pid" ] && kill -0 "$haproxy_pid" 2> /dev/null; then
    kill -TERM "$haproxy_pid"; wait "$haproxy_pid" 2> /dev/null || true
  fi
  if $db_created; then (cd / && su postgres -c "dropdb --force --if-exists $db") || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work"

fail() {
  echo "cluster-e2e: FAIL: $*" >&2
  for n in "${nodes[@]}"; do
    echo "--- $n log (last lines) ---" >&2; tail -n 40 "$work/$n.log" >&2 || true
  done
  echo "--- haproxy log ---" >&2; tail -n 20 "$work/haproxy.log" >&2 || true
  exit 1
}

# Polls a condition (a command) until it holds or the deadline (seconds) passes.
wait_for() {
  local deadline=$(($(date +%s) + $1)); shift
  until "$@"; do
    [ "$(date +%s)" -lt "$deadline" ] || return 1
    sleep 0.2
  done
}

sql() { PGPASSWORD=gateway psql -h 127.0.0.1 -U gateway -d "$db" -tAq -c "$1"; }

# --- The ledger, the backend folder, the keys ------------------------------------------
(cd / && su postgres -c "createdb -O gateway $db")
db_created=true
files="$work/files"
mkdir -p "$files"
ssh-keygen -q -t ed25519 -N '' -C alice@cluster-e2e -f alice_key
# One host key for every node: behind the balancer, clients see one host.
ssh-keygen -q -t ed25519 -N '' -C gateway -f ssh_host_ed25519_key
echo "[$lb]:2222 $(cut -d' ' -f1,2 ssh_host_ed25519_key.pub)" > known_hosts

for n in "${nodes[@]}"; do
  a=${addr[$n]}
  listeners=""
  if $proxy_protocol; then listeners="listeners: {proxy-protocol: true}"; fi
  cat > "$n.yaml" << YAML
data-dir: $work/data-$n
cluster: {node-id: $n, lease: $lease}
$listeners
ftp: {host: $a, port: 2121, passive-ports: ${passive[$n]}, passive-address: $a}
http: {host: $a, port: 8080}
sftp: {host: $a, port: 2222, host-key: $work/ssh_host_ed25519_key}
webdav: {enabled: true}
storage: {backends: [{name: local, type: local, root: $files}]}
users:
  - {name: admin, password: secret, admin: true}
  - name: alice
    password: secret
    authorized-keys: ["$(cat alice_key.pub)"]
ledger: {url: "jdbc:postgresql://127.0.0.1:5432/$db?user=gateway&password=gateway"}
YAML
done

# --- Three nodes ----------------------------------------------------------------------
for n in "${nodes[@]}"; do
  java -jar "$jar" serve --config "$n.yaml" > "$n.log" 2>&1 &
  pid[$n]=$!
done
listening() {
  kill -0 "${pid[$1]}" 2> /dev/null || fail "$1 exited at start-up"
  grep -q "listening: http" "$1.log" && grep -q "listening: ftp" "$1.log" && grep -q "listening: sftp" "$1.log"
}
for n in "${nodes[@]}"; do
  wait_for 60 listening "$n" || fail "$n did not start listening"
done
alive_count() {
  [ "$(curl -sf "${direct[@]}" "http://${addr[$1]}:8080/api/nodes" | jq '[.nodes[] | select(.alive)] | length')" = "$2" ]
}
wait_for 10 alive_count gw-1 3 || fail "gw-1 does not list three live nodes"

# --- HAProxy in front -----------------------------------------------------------------
# HTTP (and WebDAV under /dav/) round robin in http mode; FTP control and SFTP round robin
# in tcp mode. FTP data connections do not pass HAProxy: each node announces its own
# passive-address and port range in its PASV replies, and the client connects there.
server_opts="check inter 1s fall 2 rise 2"
if $proxy_protocol; then server_opts="$server_opts send-proxy-v2 check-send-proxy"; fi
{
  cat << CFG
global
  maxconn 1000
defaults
  timeout connect 2s
  timeout check 3s
  timeout client 60s
  timeout server 60s
  retries 3
  option redispatch
frontend http
  mode http
  bind $lb:8080
  default_backend gateways_http
backend gateways_http
  mode http
  balance roundrobin
  option httpchk GET /healthz
CFG
  for n in "${nodes[@]}"; do echo "  server $n ${addr[$n]}:8080 $server_opts"; done
  for svc in ftp:2121 sftp:2222; do
    cat << CFG
frontend ${svc%%:*}
  mode tcp
  bind $lb:${svc##*:}
  default_backend gateways_${svc%%:*}
backend gateways_${svc%%:*}
  mode tcp
  balance roundrobin
CFG
    for n in "${nodes[@]}"; do echo "  server $n ${addr[$n]}:${svc##*:} $server_opts"; done
  done
} > haproxy.cfg
haproxy -db -f haproxy.cfg > haproxy.log 2>&1 &
haproxy_pid=$!
wait_for 10 curl -sf -o /dev/null "http://$lb:8080/healthz" || fail "HAProxy does not answer"

# --- Uploads through HAProxy ----------------------------------------------------------
# Each upload appends "protocol path size local-file" to ok or failed, by what the client
# saw. Paths are the user's; on the backend they lie under $files/alice.
upload() { # protocol local-file path [bytes per second]
  local proto=$1 src=$2 path=$3 rate=${4:-} ok=false code size
  size=$(stat -c %s "$src")
  case $proto in
    http|webdav)
      local base=files; [ "$proto" = webdav ] && base=dav
      code=$(curl -sS -o /dev/null -w '%{http_code}' -u alice:secret --max-time 60 ${rate:+--limit-rate "$rate"} \
        -T "$src" "http://$lb:8080/$base$path" 2> /dev/null) || true
      case $code in 200|201|204) ok=true ;; esac ;;
    ftp)
      # PASV, and its address honoured: EPSV replies carry no address, and curl would
      # otherwise connect to HAProxy's address for the data.
      curl -sS --max-time 60 --disable-epsv --no-ftp-skip-pasv-ip --ftp-create-dirs ${rate:+--limit-rate "$rate"} \
        -T "$src" "ftp://alice:secret@$lb:2121$path" 2> /dev/null && ok=true ;;
    sftp)
      printf -- '-mkdir %s\nput %s %s\n' "$(dirname "$path")" "$src" "$path" \
        | timeout 60 sftp -q -b - -i alice_key -P 2222 ${rate:+-l $((rate * 8 / 1000))} \
            -o BatchMode=yes -o UserKnownHostsFile="$work/known_hosts" -o StrictHostKeyChecking=yes \
            "alice@$lb" > /dev/null 2>&1 && ok=true ;;
  esac
  if $ok; then echo "$proto $path $size $src" >> ok; else echo "$proto $path $size $src" >> failed; fi
}
touch ok failed
protocols=(ftp http sftp webdav)
code=$(curl -sS -o /dev/null -w '%{http_code}' -u alice:secret -X MKCOL "http://$lb:8080/dav/webdav/")
[ "$code" = 201 ] || fail "MKCOL /dav/webdav/ answered $code"
make_file() { head -c "$2" /dev/urandom > "$1"; }

# Before: quick uploads, spread over the three nodes by the round robin.
for p in "${protocols[@]}"; do
  for i in 1 2 3; do
    make_file "$p-before-$i.bin" $((100000 * i + RANDOM))
    upload "$p" "$p-before-$i.bin" "/$p/before-$i.bin"
  done
done
[ ! -s failed ] || fail "uploads before the kill failed: $(cat failed)"

# In flight: slow uploads (about 6 s each), two per protocol.
slow=()
for p in "${protocols[@]}"; do
  for i in 1 2; do
    make_file "$p-slow-$i.bin" $((3000000 + RANDOM))
    upload "$p" "$p-slow-$i.bin" "/$p/slow-$i.bin" 500000 &
    slow+=($!)
  done
done
# Every slow upload running with bytes received, seen by gw-1 as the union of all nodes.
all_active() {
  curl -sf "${direct[@]}" "http://${addr[gw-1]}:8080/api/stats" > active.json \
    && jq -e '[.active[] | select(.direction == "in" and .bytes > 0)] | length == 8' active.json > /dev/null
}
wait_for 20 all_active || fail "the slow uploads did not all show as active: $(cat active.json)"
# The victim: the node running the most of them (round robin gives each node some).
victim=$(jq -r '[.active[] | .node] | group_by(.) | max_by(length) | .[0]' active.json)
victim_active=$(jq --arg v "$victim" '[.active[] | select(.node == $v)] | length' active.json)
[ "$victim_active" -ge 1 ] || fail "no node runs an upload"
kill -KILL "${pid[$victim]}"
wait "${pid[$victim]}" 2> /dev/null || true
unset "pid[$victim]"
killed_at=$(date +%s.%N)
survivors=()
for n in "${nodes[@]}"; do [ "$n" = "$victim" ] || survivors+=("$n"); done
echo "cluster-e2e: killed $victim with $victim_active of 8 slow uploads in flight on it"

# After: the survivors keep serving through HAProxy, within the lease already.
for p in "${protocols[@]}"; do
  for i in 1 2 3; do
    make_file "$p-after-$i.bin" $((200000 * i + RANDOM))
    upload "$p" "$p-after-$i.bin" "/$p/after-$i.bin"
  done
done
grep -q -- '-after-' failed && fail "uploads after the kill failed: $(grep -- '-after-' failed)"
for p in "${slow[@]}"; do wait "$p" || true; done
[ "$(wc -l < failed)" = "$victim_active" ] \
  || fail "$(wc -l < failed) uploads failed for the clients, $victim_active ran on $victim: $(cat failed)"

# --- After the lease: every survivor agrees with the clients ---------------------------
counted_dead() {
  curl -sf "${direct[@]}" "http://${addr[$1]}:8080/api/nodes" \
    | jq -e --arg v "$victim" '.nodes[] | select(.id == $v) | (.alive | not) and .deadAt != null' > /dev/null
}
failed_seen() {
  [ "$(curl -sf "${direct[@]}" "http://${addr[$1]}:8080/api/stats" | jq '.transferred.failedIn')" = "$victim_active" ]
}
for n in "${survivors[@]}"; do
  wait_for 30 counted_dead "$n" || fail "$n does not list $victim as dead"
  wait_for 10 failed_seen "$n" || fail "$n does not count $victim_active failed uploads"
done
dead_after=$(awk -v a="$killed_at" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')

# The ledger: nothing left running; the failed transfers are exactly the clients'
# failures, each once, all the victim's, each with some bytes and fewer than sent.
[ "$(sql "SELECT COUNT(*) FROM transfers WHERE outcome NOT IN ('completed', 'failed')")" = 0 ] \
  || fail "the ledger still has unfinished transfers: $(sql "SELECT node, protocol, path, outcome FROM transfers WHERE outcome NOT IN ('completed', 'failed')")"
sql "SELECT LOWER(protocol) || ' ' || path FROM transfers WHERE outcome = 'failed' ORDER BY 1" > ledger-failed
cut -d' ' -f1,2 failed | sort > client-failed
diff client-failed ledger-failed > /dev/null \
  || fail "the ledger's failed transfers differ from the clients' failures: ledger $(cat ledger-failed | tr '\n' ';') clients $(cat client-failed | tr '\n' ';')"
[ "$(sql "SELECT COUNT(*) FROM transfers WHERE outcome = 'failed' AND node = '$victim' AND bytes > 0 AND bytes < 3100000")" = "$victim_active" ] \
  || fail "failed transfers not all $victim's with a partial byte count: $(sql "SELECT node, path, bytes FROM transfers WHERE outcome = 'failed'")"
[ "$(sql "SELECT COALESCE(SUM(failed), 0) FROM node_transferred WHERE node = '$victim'")" = "$victim_active" ] \
  || fail "the ledger counts $victim's failures other than once each"

# Expected totals: what the clients sent successfully, plus the failed bytes recorded.
expected() { # protocol (or "all") -> JSON {bytesIn, filesIn, failedIn}
  local sel="\$1 == \"$1\"" fb fc
  [ "$1" = all ] && sel=1
  fb=$(sql "SELECT COALESCE(SUM(bytes), 0) FROM transfers WHERE outcome = 'failed' $([ "$1" = all ] || echo "AND LOWER(protocol) = '$1'")")
  fc=$(awk "$sel" failed | wc -l)
  awk -v fb="$fb" -v fc="$fc" "$sel {b += \$3; n++} END {printf \"{\\\"bytesIn\\\": %d, \\\"filesIn\\\": %d, \\\"failedIn\\\": %d}\", b + fb, n, fc}" ok
}
ok_bytes=$(awk '{b += $3} END {print b + 0}' ok)
ok_files=$(wc -l < ok)
# Stored: the files on disk, without the temporary folder of uploads in progress (where
# the killed node's partial files stay until a node starts on this folder again).
disk_bytes=$(find "$files" -path "$files/.transfer-gateway-tmp" -prune -o -type f -printf '%s\n' | awk '{b += $1} END {print b + 0}')
disk_files=$(find "$files" -path "$files/.transfer-gateway-tmp" -prune -o -type f -print | wc -l)
[ "$disk_bytes" = "$ok_bytes" ] && [ "$disk_files" = "$ok_files" ] \
  || fail "the backend holds $disk_files files, $disk_bytes bytes; the clients stored $ok_files, $ok_bytes"

# A node reads the others' additions twice a second: the last upload that finished on one
# survivor may reach the other's totals up to a second after its client saw it succeed.
all_expected=$(expected all)
union_read() {
  curl -sf "${direct[@]}" "http://${addr[$1]}:8080/api/stats" \
    | jq -e --argjson e "$all_expected" '.transferred | .bytesIn == $e.bytesIn and .filesIn == $e.filesIn' > /dev/null
}
for n in "${survivors[@]}"; do wait_for 5 union_read "$n" || true; done # the exact checks below say what differs

for n in "${survivors[@]}"; do
  if $proxy_protocol; then
    # The stats command sends no PROXY header: each node's JSON by curl here, and the
    # command itself through HAProxy below.
    curl -sf "${direct[@]}" "http://${addr[$n]}:8080/api/stats" > "stats-$n.json" || fail "stats on $n failed"
  else
    java -jar "$jar" stats --url "http://${addr[$n]}:8080" --user admin --password secret --json > "stats-$n.json" \
      || fail "stats on $n failed"
  fi
  for p in all "${protocols[@]}"; do
    e=$(expected "$p")
    if [ "$p" = all ]; then sel='.transferred'; else sel=".transferred.byProtocol.$p"; fi
    jq -e --argjson e "$e" "$sel | .bytesIn == \$e.bytesIn and .filesIn == \$e.filesIn and .failedIn == \$e.failedIn" \
      "stats-$n.json" > /dev/null \
      || fail "$n: totals of $p $(jq -c "$sel" "stats-$n.json") differ from what the clients sent: $e"
  done
  jq -e --argjson b "$ok_bytes" --argjson f "$ok_files" \
    '.stored.bytes == $b and .stored.objects == $f and (.active | length) == 0' "stats-$n.json" > /dev/null \
    || fail "$n: stored $(jq -c '{stored: .stored | {bytes, objects}, active: (.active | length)}' "stats-$n.json"), the backend holds $ok_files files, $ok_bytes bytes"
  java -jar "$jar" reconcile --config "$n.yaml" > "reconcile-$n.txt" 2>&1 \
    || fail "reconcile with $n's config finds drift: $(cat "reconcile-$n.txt")"
done

# The stats command through the balancer sees the same union.
java -jar "$jar" stats --url "http://$lb:8080" --user admin --password secret --json > stats-lb.json \
  || fail "stats through HAProxy failed"
e=$(expected all)
jq -e --argjson e "$e" '.transferred | .bytesIn == $e.bytesIn and .filesIn == $e.filesIn and .failedIn == $e.failedIn' \
  stats-lb.json > /dev/null || fail "stats through HAProxy: $(jq -c .transferred stats-lb.json) differs from $e"

# Every upload a client saw succeed is on the backend byte for byte; no failed one is.
while read -r proto path size src; do
  [ "$(sha256sum < "$src")" = "$(sha256sum < "$files/alice$path" 2> /dev/null)" ] \
    || fail "$proto $path on the backend differs from the upload"
done < ok
while read -r proto path size src; do
  [ ! -e "$files/alice$path" ] || fail "$proto $path failed for the client but is on the backend"
done < failed

per_node=$(sql "SELECT node || ':' || COUNT(*) FILTER (WHERE outcome = 'completed') || '+' || COUNT(*) FILTER (WHERE outcome = 'failed') FROM transfers GROUP BY node ORDER BY node" | tr '\n' ' ')
echo "cluster-e2e: OK in $(($(date +%s) - started)) s: $ok_files uploads over FTP, HTTP, SFTP and WebDAV through HAProxy"
echo "  ($ok_bytes bytes, completed+failed per node: $per_node); $victim killed with $victim_active in flight,"
echo "  counted dead and its uploads failed once ${dead_after} s after the kill (lease $lease); totals on ${survivors[*]} exact,"
echo "  stored = disk, reconcile clean, every stored file matches its SHA-256"
