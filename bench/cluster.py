#!/usr/bin/env python3
"""Scale figures of several gateway nodes on one machine, and of the ledger behind them.

1. Gateway: 1, 2 and 3 nodes sharing one PostgreSQL ledger and one local-disk folder,
   behind HAProxy (HTTP, round robin), take 2,000 x 64 KiB PUTs over 8 curl keep-alive
   connections (files/s) and 4 parallel 256 MiB PUTs (MiB/s). Beside them, one node on
   its embedded SQLite ledger (the default) and one PostgreSQL node without HAProxy.
2. Ledger alone (bench/LedgerBench.java): transfers recorded per second with SQLite and
   with PostgreSQL for 1, 2 and 3 ledgers (nodes), and PostgreSQL's CPU time per transfer.
3. A paper estimate of what one PostgreSQL primary carries, from that CPU time.

Every process shares this machine's cores: the nodes, HAProxy, PostgreSQL and the
clients. Run through bench/cluster.sh (root: it creates PostgreSQL databases).
"""
import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import BenchError, Procs, log, run, run_many  # noqa: E402

BENCH = Path(__file__).resolve().parent
MiB = 1 << 20
NET = "127.77.0"
LB = NET + ".10"
HTTP_PORT, LB_PORT = 9180, 9190
USER, PASSWORD = "bench", "bench-pw"
SMALL_N, SMALL_SIZE, CONNS = 2000, 64 * 1024, 8
BIG_N, BIG_SIZE = 4, 256 * MiB
PG = "jdbc:postgresql://127.0.0.1:5432/%s?user=gateway&password=gateway"


def psql_admin(sql):
    subprocess.run(["su", "postgres", "-c", "psql -q -c \"%s\"" % sql], check=True, cwd="/",
                   stdout=subprocess.DEVNULL)


def cpu_ticks(match):
    """User + system clock ticks of every process whose command name `match` accepts."""
    total = 0
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            s = open("/proc/%s/stat" % d).read()
        except OSError:
            continue
        comm = s[s.index("(") + 1:s.rindex(")")]
        if match(comm):
            # its own time and its reaped children's: the postmaster gathers the time of
            # each backend that exits (a client's connection closing)
            f = s[s.rindex(")") + 2:].split()
            total += int(f[11]) + int(f[12]) + int(f[13]) + int(f[14])
    return total



def pid_ticks(pids):
    """User + system clock ticks of these processes (all their threads)."""
    total = 0
    for pid in pids:
        try:
            s = open("/proc/%d/stat" % pid).read()
        except OSError:
            continue
        f = s[s.rindex(")") + 2:].split()
        total += int(f[11]) + int(f[12])
    return total


def is_postgres(comm):
    return comm.startswith("postgres")


class Cluster:
    def __init__(self, a):
        self.a = a
        self.work = Path(a.workdir)
        self.logs = self.work / "logs"
        self.procs = Procs()
        self.files = self.work / "files"
        self.dbs = []

    def setup(self):
        if self.work.exists():
            subprocess.run(["rm", "-rf", str(self.work)], check=True)
        for d in (self.logs, self.files, self.work / "data"):
            d.mkdir(parents=True)
        small = self.work / "data/small"
        small.mkdir()
        block = os.urandom(SMALL_SIZE)
        self.small = []
        for i in range(SMALL_N):
            f = small / ("f%04d.bin" % i)
            f.write_bytes(block[i % 64:] + block[:i % 64])
            self.small.append(f)
        self.big = self.work / "data/big.bin"
        with open(self.big, "wb") as f:
            chunk = os.urandom(8 * MiB)
            for _ in range(BIG_SIZE // len(chunk)):
                f.write(chunk)

    def database(self, name):
        psql_admin("DROP DATABASE IF EXISTS %s WITH (FORCE)" % name)
        psql_admin("CREATE DATABASE %s OWNER gateway" % name)
        self.dbs.append(name)
        return PG % name

    def drop_databases(self):
        for name in self.dbs:
            try:
                psql_admin("DROP DATABASE IF EXISTS %s WITH (FORCE)" % name)
            except subprocess.CalledProcessError:
                pass

    # ------------------------------------------------------------------ gateway nodes

    def start_nodes(self, n, ledger_url):
        """n nodes on NET.11.., each with its own data folder, all on one files folder."""
        nodes = []
        for i in range(n):
            name = "node-%d" % (i + 1)
            host = "%s.%d" % (NET, 11 + i)
            data = self.work / ("data-%s-%d" % (name, time.monotonic_ns()))
            cfg = self.work / ("%s.yaml" % name)
            cluster = "cluster: {node-id: %s}\n" % name if ledger_url.startswith("jdbc:postgresql") else ""
            cfg.write_text(
                "data-dir: %s\n%s"
                "ftp: {enabled: false}\nsftp: {enabled: false}\n"
                "http: {host: %s, port: %d}\n"
                "storage: {backends: [{name: local, type: local, root: %s}]}\n"
                "users: [{name: %s, password: %s}]\n"
                "limits: {max-connections: 1000, max-connections-per-address: 1000}\n"
                "ledger: {url: \"%s\"}\n" % (data, cluster, host, HTTP_PORT, self.files, USER, PASSWORD, ledger_url))
            logf = self.logs / ("%s.log" % name)
            offset = logf.stat().st_size if logf.exists() else 0
            p = self.procs.start(name, ["java"] + self.a.gateway_java_opts.split() + ["-jar", self.a.jar, "serve",
                                                                                      "--config", str(cfg)], self.logs)
            nodes.append((name, host, p, offset))
        for name, host, p, offset in nodes:
            deadline = time.time() + 90
            while "listening: http" not in p.bench_log.read_text(errors="replace")[offset:]:
                if p.poll() is not None or time.time() > deadline:
                    raise BenchError("%s did not start: %s" % (name, p.bench_log.read_text(errors="replace")[-600:]))
                time.sleep(0.2)
        return [(name, host, p) for name, host, p, _ in nodes]

    def start_haproxy(self, nodes):
        cfg = self.work / "haproxy.cfg"
        servers = "\n".join("  server %s %s:%d" % (name, host, HTTP_PORT) for name, host, _ in nodes)
        cfg.write_text("""global
  maxconn 2000
defaults
  mode http
  timeout connect 2s
  timeout client 120s
  timeout server 120s
frontend http
  bind {lb}:{port}
  default_backend gateways
backend gateways
  balance roundrobin
{servers}
""".format(lb=LB, port=LB_PORT, servers=servers))
        p = self.procs.start("haproxy", ["haproxy", "-db", "-f", str(cfg)], self.logs)
        deadline = time.time() + 10
        while subprocess.run(["curl", "-sf", "-o", "/dev/null", "http://%s:%d/healthz" % (LB, LB_PORT)]).returncode != 0:
            if time.time() > deadline:
                raise BenchError("HAProxy does not answer")
            time.sleep(0.2)
        return p

    def stop(self, procs):
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(30)
        self.procs.procs = [p for p in self.procs.procs if p not in procs]

    # ------------------------------------------------------------------ workloads

    def small_files(self, base, r):
        d = "small-%d" % r
        cfgs = []
        for c in range(CONNS):
            lines = []
            for i in range(c, SMALL_N, CONNS):
                f = self.small[i]
                lines += ['upload-file = "%s"' % f, 'url = "%s/files/%s/%s"' % (base, d, f.name), 'output = "/dev/null"']
            cf = self.work / ("curl-small-%d.cfg" % c)
            cf.write_text("\n".join(lines) + "\n")
            cfgs.append(["curl", "-sS", "-u", "%s:%s" % (USER, PASSWORD), "-w", "%{http_code}\n", "-K", str(cf)])
        t0 = time.monotonic()
        outs = run_many(cfgs, what="small files")
        seconds = time.monotonic() - t0
        codes = [l for o in outs for l in o.split()]
        if len(codes) != SMALL_N or any(c != "201" for c in codes):
            raise BenchError("small files: %d answers, not all 201: %s" % (len(codes), sorted(set(codes))))
        got = sorted(p.name for p in (self.files / USER / d).iterdir())
        if len(got) != SMALL_N:
            raise BenchError("small files: %d files stored of %d" % (len(got), SMALL_N))
        subprocess.run(["rm", "-rf", str(self.files / USER / d)], check=True)
        return SMALL_N / seconds

    def big_files(self, base, r):
        argvs = [["curl", "-sS", "-u", "%s:%s" % (USER, PASSWORD), "-o", "/dev/null", "-w", "%{http_code}\n",
                  "-T", str(self.big), "%s/files/big-%d/b%d.bin" % (base, r, i)] for i in range(BIG_N)]
        t0 = time.monotonic()
        outs = run_many(argvs, what="big files")
        seconds = time.monotonic() - t0
        if [o.strip() for o in outs] != ["201"] * BIG_N:
            raise BenchError("big files: answers %s" % outs)
        for i in range(BIG_N):
            if (self.files / USER / ("big-%d" % r) / ("b%d.bin" % i)).stat().st_size != BIG_SIZE:
                raise BenchError("big files: b%d.bin has the wrong size" % i)
        subprocess.run(["rm", "-rf", str(self.files / USER / ("big-%d" % r))], check=True)
        return BIG_N * BIG_SIZE / MiB / seconds

    def measure(self, label, base, nodes, balancer=None):
        """Warm-up (both workloads: every node compiles its data path), then the timed runs;
        PostgreSQL's CPU time per small file."""
        # The same warm-up per node: the JIT of each node compiles the small-file path
        # only after some thousands of its own requests.
        for w in range(self.a.warmup * len(nodes)):
            self.small_files(base, 100 + w)
            if w < len(nodes):
                self.big_files(base, 100 + w)
        # What the nodes burn idle (heartbeats, reading the others' counts twice a second).
        node_pids = [p.pid for _, _, p in nodes]
        idle0 = pid_ticks(node_pids)
        time.sleep(5)
        idle_pct = (pid_ticks(node_pids) - idle0) * 100.0 / os.sysconf("SC_CLK_TCK") / 5 / len(nodes)
        small, big, pg_ms, gw_ms, lb_ms = [], [], [], [], []
        ms = 1000.0 / os.sysconf("SC_CLK_TCK") / SMALL_N
        for r in range(self.a.runs):
            pg0, gw0 = cpu_ticks(is_postgres), pid_ticks(node_pids)
            lb0 = pid_ticks([balancer.pid]) if balancer else 0
            small.append(self.small_files(base, r))
            pg_ms.append((cpu_ticks(is_postgres) - pg0) * ms)
            gw_ms.append((pid_ticks(node_pids) - gw0) * ms)
            lb_ms.append((pid_ticks([balancer.pid]) - lb0) * ms if balancer else 0.0)
            big.append(self.big_files(base, r))
        rss = [int(open("/proc/%d/status" % p.pid).read().split("VmHWM:")[1].split()[0]) // 1024 for _, _, p in nodes]
        row = dict(label=label, small=statistics.median(small), big=statistics.median(big), pg_ms=statistics.median(pg_ms),
                   gw_ms=statistics.median(gw_ms), idle_pct=idle_pct, lb_ms=statistics.median(lb_ms), small_runs=small, big_runs=big, rss=rss)
        log("%s: %s files/s, %s MiB/s; CPU ms per file: nodes %.3f, HAProxy %.3f, PostgreSQL %.3f; idle CPU per node"
            " %.1f %%; RSS %s MiB" % (label, " ".join("%.0f" % x for x in small), " ".join("%.0f" % x for x in big),
                                     row["gw_ms"], row["lb_ms"], row["pg_ms"], idle_pct, rss))
        return row

    def gateway_rows(self):
        rows = []
        # One node on the embedded ledger, the default: no HAProxy.
        (self.work / "sqlite-ledger").mkdir(exist_ok=True)
        nodes = self.start_nodes(1, "jdbc:sqlite:%s/ledger.db?journal_mode=WAL&synchronous=NORMAL"
                                    "&locking_mode=EXCLUSIVE&temp_store=MEMORY" % (self.work / "sqlite-ledger"))
        rows.append(self.measure("1 node, SQLite ledger, direct", "http://%s:%d" % (nodes[0][1], HTTP_PORT), nodes))
        self.stop([p for _, _, p in nodes])
        for n in self.a.nodes:
            db = "tgw_bench_cluster_%d" % n
            nodes = self.start_nodes(n, self.database(db))
            if n == 1:
                rows.append(self.measure("1 node, PostgreSQL ledger, direct", "http://%s:%d" % (nodes[0][1], HTTP_PORT),
                                         nodes))
            lb = self.start_haproxy(nodes)
            rows.append(self.measure("%d node%s, PostgreSQL ledger, HAProxy" % (n, "" if n == 1 else "s"),
                                     "http://%s:%d" % (LB, LB_PORT), nodes, lb))
            spread = subprocess.run(["su", "postgres", "-c", "psql -tA -d tgw_bench_cluster_%d -c \"SELECT node, COUNT(*)"
                                     " FROM transfers GROUP BY node ORDER BY node\"" % n], capture_output=True, text=True,
                                    cwd="/").stdout.split()
            rows[-1]["spread"] = spread
            self.stop([lb] + [p for _, _, p in nodes])
        return rows

    # ------------------------------------------------------------------ the ledger alone

    def ledger_rows(self):
        rows = []
        java = ["java", "-cp", self.a.jar, str(BENCH / "LedgerBench.java")]
        sqlite = "jdbc:sqlite:%s/lb.db?journal_mode=WAL&synchronous=NORMAL&locking_mode=EXCLUSIVE&temp_store=MEMORY"
        cases = [("SQLite", 1, 8), ("SQLite", 1, 32)] + [("PostgreSQL", n, 8 * n) for n in self.a.nodes]
        for kind, nodes, threads in cases:
            rates, pg_ms, p99 = [], [], []
            for r in range(self.a.runs):
                if kind == "SQLite":
                    d = self.work / ("lb-%d-%d" % (threads, r))
                    d.mkdir()
                    url = sqlite % d
                else:
                    url = self.database("tgw_bench_ledger")
                pg0 = cpu_ticks(is_postgres)
                out, _ = run(java + [url, str(nodes), str(threads), str(self.a.ledger_seconds)], what="LedgerBench")
                line = [l for l in out.splitlines() if l.startswith("transfers=")][-1]
                f = dict(kv.split("=") for kv in line.split())
                # PostgreSQL's CPU over the whole run (warm-up second and start-up included): an upper bound per transfer
                pg = (cpu_ticks(is_postgres) - pg0) * 1000.0 / os.sysconf("SC_CLK_TCK")
                rates.append(float(f["rate"]))
                p99.append(float(f["p99_ms"]))
                pg_ms.append(pg / (float(f["rate"]) * (self.a.ledger_seconds + 1)) if kind != "SQLite" else 0.0)
            row = dict(kind=kind, nodes=nodes, threads=threads, rate=statistics.median(rates), p99=statistics.median(p99),
                       pg_ms=statistics.median(pg_ms), runs=rates)
            log("ledger %s, %d node(s), %d threads: %.0f transfers/s, p99 %.1f ms, PostgreSQL %.3f ms CPU each"
                % (kind, nodes, threads, row["rate"], row["p99"], row["pg_ms"]))
            rows.append(row)
        return rows

    # ------------------------------------------------------------------ report

    def report(self, gw, ledger):
        L = []
        L.append("# Several nodes on one machine: scale figures")
        L.append("")
        L.append("- date: %s; %d run(s) per figure, medians, after %d warm-up round(s) of the small files per node (and one of the large per node)"
                 % (time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), self.a.runs, self.a.warmup))
        L.append("- machine: %d cores, %d MiB; loopback only; files on %s. Every node, HAProxy, PostgreSQL and the "
                 "clients share these cores: more nodes cannot add CPU here, so the rows show what a node, the "
                 "balancer and the shared ledger cost, not how a cluster of machines scales."
                 % (os.cpu_count(), os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // MiB, "tmpfs"
                    if "tmpfs" in subprocess.run(["stat", "-f", "-c", "%T", str(self.work)], capture_output=True,
                                                 text=True).stdout else "disk"))
        L.append("- gateway JVMs: `%s` each; PostgreSQL %s (Debian, default settings: synchronous_commit on, fsync of "
                 "the WAL at every commit); SQLite in WAL mode, synchronous=NORMAL (the gateway's default)"
                 % (self.a.gateway_java_opts, self.pg_version()))
        L.append("- small files: %d x 64 KiB HTTP PUTs over %d curl keep-alive connections; big: %d parallel %d MiB PUTs"
                 % (SMALL_N, CONNS, BIG_N, BIG_SIZE // MiB))
        L.append("")
        L.append("## Gateway nodes")
        L.append("")
        L.append("| setup | small files/s | big MiB/s | CPU ms per small file: nodes | HAProxy | PostgreSQL"
                 " | idle CPU per node | peak RSS MiB per node | transfers per node |")
        L.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |")
        for r in gw:
            L.append("| %s | %.0f | %.0f | %.3f | %s | %s | %.1f %% | %s | %s |" % (
                r["label"], r["small"], r["big"], r["gw_ms"], "%.3f" % r["lb_ms"] if "HAProxy" in r["label"] else "-",
                "%.3f" % r["pg_ms"] if "PostgreSQL" in r["label"] else "-", r["idle_pct"],
                ", ".join(str(x) for x in r["rss"]), " ".join(r.get("spread", [])) or "-"))
        L.append("")
        L.append("## The ledger alone (bench/LedgerBench.java: 64 KiB uploads started and ended, each end waiting for its commit)")
        L.append("")
        L.append("| ledger | nodes | threads | transfers/s | p99 ms per end | PostgreSQL CPU ms per transfer |")
        L.append("| --- | ---: | ---: | ---: | ---: | ---: |")
        for r in ledger:
            L.append("| %s | %d | %d | %.0f | %.1f | %s |" % (r["kind"], r["nodes"], r["threads"], r["rate"], r["p99"],
                                                          "%.3f" % r["pg_ms"] if r["kind"] != "SQLite" else "-"))
        # The estimate takes the dearest PostgreSQL CPU per transfer seen: through the gateway
        # a transfer also takes its commit lock (an advisory lock and its release) and fewer
        # ends share a commit when the load is spread over nodes.
        costs = [(r["pg_ms"], r["label"]) for r in gw if "PostgreSQL" in r["label"]]
        costs += [(r["pg_ms"], "the ledger alone, %d node(s)" % r["nodes"]) for r in ledger if r["kind"] == "PostgreSQL"]
        if costs:
            cost, where = max(costs)
            per_node = max(r["small"] for r in gw) if gw else 0
            primary = 16 * 1000 * 0.7 / cost
            L.append("")
            L.append("## Paper estimate")
            L.append("")
            L.append("PostgreSQL spent at most %.3f ms of CPU per recorded transfer here (%s): its start and end, its "
                     "share of the counter rows and of the commit, its commit lock, and the nodes' heartbeats and reads "
                     "of each other twice a second. A primary with 16 cores kept at 70%% would record about %.0f "
                     "transfers/s. A node on this machine (2 cores, shared with the clients) took at most %.0f small "
                     "files/s, so such a primary would carry about %.0f nodes like it doing nothing but small files, "
                     "and far more doing large ones (a 1 GiB upload is one transfer). Nodes on machines of their own "
                     "take more files each, and the count of nodes falls in proportion. Commits are grouped (one per "
                     "batch of the ends waiting on a node), so the WAL's fsync rate is not the bound."
                     % (cost, where, primary, per_node, primary / per_node if per_node else 0))
        text = "\n".join(L) + "\n"
        Path(self.a.results).write_text(text)
        print(text)

    def pg_version(self):
        out = subprocess.run(["su", "postgres", "-c", "psql -tA -c 'SHOW server_version'"], capture_output=True,
                             text=True, cwd="/").stdout.strip()
        return out.split()[0] if out else "?"


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--jar", required=True)
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--results", required=True)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=6, help="warm-up rounds of the small files per node")
    ap.add_argument("--nodes", default="1,2,3")
    ap.add_argument("--ledger-seconds", type=float, default=5)
    ap.add_argument("--only", default="gateway,ledger")
    ap.add_argument("--gateway-java-opts", default="-Xmx256m")
    a = ap.parse_args()
    a.nodes = [int(x) for x in a.nodes.split(",")]
    c = Cluster(a)
    try:
        c.setup()
        gw = c.gateway_rows() if "gateway" in a.only else []
        ledger = c.ledger_rows() if "ledger" in a.only else []
        c.report(gw, ledger)
        return 0
    except BenchError as e:
        log("FAILED: %s" % e)
        return 1
    finally:
        c.procs.stop_all()
        c.drop_databases()


if __name__ == "__main__":
    sys.exit(main())
