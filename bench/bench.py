#!/usr/bin/env python3
"""Transfer Gateway benchmark: the gateway against the peers a user would pick instead.

Run it through bench/run.sh, which installs the peers and builds what is needed.
Every server listens on 127.0.0.1 only; every client runs on this machine.
"""
import argparse
import base64
import json
import os
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
MiB = 1 << 20
HOST = "127.0.0.1"

# Ports: away from the gateway's defaults (2121/8080) and from each other. The passive
# ranges lie below Linux's ephemeral ports and hold 1,000 each: the small-files workload
# opens some 20,000 data connections in two minutes, and a server that closes a data
# connection first keeps its port in TIME_WAIT for a minute. With 101 ports each, vsftpd
# ran out of them: small-file runs of 17 s instead of 3, then "500" answers to PASV.
GW_FTP, GW_PASV, GW_HTTP = 3121, "20000-20999", 9080
VSFTPD, VSFTPD_PASV = 3021, (21000, 21999)
VSFTPD_MNT, VSFTPD_MNT_PASV = 3022, (22000, 22999)
NGINX, WEBDAV, S3PROXY = 9081, 9082, 9300
WEBDAV_LOCAL = 9083
# the two more S3Proxy servers of the pool workload (the pool's first member is on S3PROXY)
S3PROXY_B, S3PROXY_C = 9301, 9302
# SFTP: the gateway's, and OpenSSH's sshd with its sftp server
GW_SFTP, SSHD = 3222, 3223

S3_KEY, S3_SECRET = "benchkey", "benchsecret"
GW_USER, GW_USER_S3, GW_USER_POOL, GW_PASS = "bench", "bench3", "benchpool", "bench-pw"
FTP_SYS_USER, FTP_SYS_PASS = "tgwbench", "tgwbench-pw"
BUCKET_GW, BUCKET_RC, BUCKET_MNT = "gwbench", "rcbench", "mntbench"
# the pool's members: backend name, S3Proxy port, bucket
POOL_MEMBERS = [("s3-a", S3PROXY, "pool-a"), ("s3-b", S3PROXY_B, "pool-b"), ("s3-c", S3PROXY_C, "pool-c")]
POOL_WORKLOADS = ("par-pool",)
# Azurite (npm azurite), the Azure Blob service of the Azure rows; its well-known development account
AZURE_WORKLOADS = ("put-big-azure", "par-azure")
AZURITE = 9400
AZ_ACCOUNT = "devstoreaccount1"
AZ_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
AZ_GW, AZ_DIRECT = "gwbench-az", "sdkbench"
GW_USER_AZ = "benchaz"
# The same S3 server and bucket through a second backend with payload-signing: false: bodies
# sent unsigned, as rclone sends its single PutObjects (UNSIGNED-PAYLOAD, with a Content-MD5).
GW_USER_S3U = "bench3u"
# Rows run after the mixed workload, so that what they add to the gateway's RSS shows in no other row.
LATE_ROWS = ("par-s3u",)
SFTP_WORKLOADS = ("sftp-put-big", "sftp-get-big", "sftp-small")

NO_CA_ENV = {k: v for k, v in os.environ.items() if k != "AWS_CA_BUNDLE"}


def log(msg):
    print("[%s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr, flush=True)


class BenchError(Exception):
    pass


# ---------------------------------------------------------------------------
# processes and memory

class Procs:
    """Every process the harness starts, stopped at exit in reverse order."""

    def __init__(self):
        self.procs = []
        self.mounts = []

    def start(self, name, argv, logdir, env=None, cwd=None):
        out = open(logdir / ("%s.log" % name), "ab")
        p = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             env=env, cwd=cwd, start_new_session=True)
        p.bench_name = name
        p.bench_log = logdir / ("%s.log" % name)
        self.procs.append(p)
        return p

    def stop_all(self):
        for m in reversed(self.mounts):
            subprocess.run(["fusermount3", "-u", "-z", str(m)], stderr=subprocess.DEVNULL)
        for p in reversed(self.procs):
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.time() + 15
        for p in reversed(self.procs):
            try:
                p.wait(max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait()
        self.procs = []


def children_map():
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                s = f.read()
        except OSError:
            continue
        ppid = int(s[s.rindex(")") + 2:].split()[1])
        kids.setdefault(ppid, []).append(int(d))
    return kids


def tree(roots):
    kids = children_map()
    seen, todo = [], list(roots)
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.append(p)
        todo += kids.get(p, [])
    return seen


def pss_kib(pid):
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def status_kib(pid, key):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class Memory:
    """Peak memory of one server during one measurement.

    A single-process server (the gateway's JVM, rclone): its peak RSS, VmHWM, reset
    through /proc/PID/clear_refs before the measurement. A server of many processes
    (vsftpd forks per session, nginx has workers, vsftpd + rclone mount): the peak of
    the summed PSS of its process tree (shared pages counted once), sampled every
    0.1 s (0.5 s above 200 processes).
    """

    def __init__(self, roots, single):
        self.roots, self.single = list(roots), single
        self.peak_kib = 0
        self._stop = threading.Event()
        self._thread = None

    def __enter__(self):
        if self.single:
            with open("/proc/%d/clear_refs" % self.roots[0], "w") as f:
                f.write("5")
        else:
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()
        return self

    def _run(self):
        while not self._stop.is_set():
            pids = tree(self.roots)
            self.peak_kib = max(self.peak_kib, sum(pss_kib(p) for p in pids))
            self._stop.wait(0.1 if len(pids) <= 200 else 0.5)

    def __exit__(self, *exc):
        if self.single:
            self.peak_kib = status_kib(self.roots[0], "VmHWM")
        else:
            self._stop.set()
            self._thread.join()
            pids = tree(self.roots)
            self.peak_kib = max(self.peak_kib, sum(pss_kib(p) for p in pids))
        return False

    def current_mib(self):
        """What the server holds now: VmRSS of a single process, else the summed PSS of the tree."""
        if self.single:
            return status_kib(self.roots[0], "VmRSS") / 1024.0
        return sum(pss_kib(p) for p in tree(self.roots)) / 1024.0

    @property
    def mib(self):
        return self.peak_kib / 1024.0


def run(argv, timeout=900, env=None, check=True, what=None):
    """Runs a client command; returns (stdout, rusage max RSS of the command in KiB)."""
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        raise BenchError("%s: timed out after %d s" % (what or argv[0], timeout))
    if check and p.returncode != 0:
        raise BenchError("%s: exit %d: %s" % (what or " ".join(argv[:3]), p.returncode,
                                             err.decode(errors="replace").strip()[-400:]))
    return out.decode(errors="replace"), err.decode(errors="replace")


def run_many(argvs, timeout=900, env=None, what=None):
    """Starts every command at once, waits for all; returns their standard outputs."""
    procs = [subprocess.Popen(a, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env) for a in argvs]
    outs = []
    deadline = time.time() + timeout
    for p in procs:
        try:
            out, err = p.communicate(timeout=max(1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            raise BenchError("%s: timed out" % what)
        if p.returncode != 0:
            raise BenchError("%s: exit %d: %s" % (what, p.returncode, err.decode(errors="replace").strip()[-400:]))
        outs.append(out.decode(errors="replace"))
    return outs


def run_measuring_child(argv, env=None, timeout=900, what=None, output=None):
    """Runs one client command and returns its own peak RSS (KiB) from wait4(); with
    {output} a list, the command's standard output is appended to it."""
    p = subprocess.Popen(argv, stdout=subprocess.PIPE if output is not None else subprocess.DEVNULL,
                         stderr=subprocess.PIPE, env=env)
    err = b""
    start = time.time()
    # read stderr (and stdout) without blocking wait4: threads drain them
    chunks = []
    t = threading.Thread(target=lambda: chunks.append(p.stderr.read()), daemon=True)
    t.start()
    outs = []
    if output is not None:
        t_out = threading.Thread(target=lambda: outs.append(p.stdout.read()), daemon=True)
        t_out.start()
    while True:
        pid, status, ru = os.wait4(p.pid, os.WNOHANG)
        if pid:
            break
        if time.time() - start > timeout:
            p.kill()
            raise BenchError("%s: timed out" % what)
        time.sleep(0.01)
    t.join()
    if output is not None:
        t_out.join()
        output.append(b"".join(outs).decode(errors="replace"))
    p.returncode = os.waitstatus_to_exitcode(status)
    err = b"".join(chunks).decode(errors="replace")
    if p.returncode != 0:
        raise BenchError("%s: exit %d: %s" % (what, p.returncode, err.strip()[-400:]))
    return ru.ru_maxrss


# ---------------------------------------------------------------------------
# storage checks

class S3:
    def __init__(self, port=S3PROXY):
        os.environ.pop("AWS_CA_BUNDLE", None)
        import boto3
        from botocore.config import Config
        self.port = port
        self.c = boto3.client("s3", endpoint_url="http://%s:%d" % (HOST, port),
                              aws_access_key_id=S3_KEY, aws_secret_access_key=S3_SECRET,
                              region_name="us-east-1",
                              config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2}))

    def size(self, bucket, key):
        try:
            return self.c.head_object(Bucket=bucket, Key=key)["ContentLength"]
        except Exception:
            return None

    def wait_complete(self, bucket, keys, size, timeout=300):
        """Polls until every key is present with the full size; returns when that was."""
        pending = set(keys)
        deadline = time.monotonic() + timeout
        while pending:
            for k in list(pending):
                if self.size(bucket, k) == size:
                    pending.discard(k)
            if not pending:
                break
            if time.monotonic() > deadline:
                raise BenchError("s3://%s: %d objects not complete after %d s (e.g. %s)"
                                 % (bucket, len(pending), timeout, sorted(pending)[0]))
            time.sleep(0.05)
        return time.monotonic()

    def sizes(self, bucket, prefix):
        """Every key under prefix with its size, listed (a page holds 1,000)."""
        out = {}
        pag = self.c.get_paginator("list_objects_v2")
        for page in pag.paginate(Bucket=bucket, Prefix=prefix):
            for o in page.get("Contents", []):
                out[o["Key"]] = o["Size"]
        return out

    def delete_prefix(self, bucket, prefix):
        pag = self.c.get_paginator("list_objects_v2")
        for page in pag.paginate(Bucket=bucket, Prefix=prefix):
            for o in page.get("Contents", []):
                self.c.delete_object(Bucket=bucket, Key=o["Key"])

    def ensure_bucket(self, name):
        try:
            self.c.create_bucket(Bucket=name)
        except self.c.exceptions.BucketAlreadyOwnedByYou:
            pass
        except self.c.exceptions.BucketAlreadyExists:
            pass


def check_local(path, size):
    try:
        got = os.path.getsize(path)
    except OSError:
        raise BenchError("%s: missing after a successful answer" % path)
    if got != size:
        raise BenchError("%s: %d bytes stored, %d sent" % (path, got, size))


# ---------------------------------------------------------------------------
# systems under test

class Target:
    """One server as a client sees it, and where its files land."""

    def __init__(self, name, proto, port, user=None, password=None, url_prefix="",
                 local_root=None, bucket=None, key_prefix="", single=True, roots=(), peer=True, pool=(), dav=False,
                 azure=None):
        self.name, self.proto, self.port = name, proto, port
        # the Azurite container the target writes into, checked and emptied through the bench's Azure client
        self.azure = azure
        # a WebDAV server: PUT needs the folder made first (MKCOL), as its clients do
        self.dav = dav
        self.user, self.password, self.url_prefix = user, password, url_prefix
        self.local_root, self.bucket, self.key_prefix = local_root, bucket, key_prefix
        self.single, self.roots = single, list(roots)
        # a gateway user on a pool: [(member backend, S3 client of its server, bucket)]; each
        # object lands in one of them, so checks look in all and removal goes through the gateway
        self.pool = list(pool)

    @property
    def is_s3(self):
        return self.bucket is not None or bool(self.pool)

    def url(self, path):
        if self.proto == "ftp":
            return "ftp://%s:%s@%s:%d/%s" % (self.user, self.password, HOST, self.port, path)
        return "http://%s:%d%s/%s" % (HOST, self.port, self.url_prefix, path)

    def auth_args(self):
        return ["-u", "%s:%s" % (self.user, self.password)] if (self.proto == "http" and self.user) else []

    def memory(self):
        return Memory(self.roots, self.single)

    def verify(self, path, size):
        if self.pool:
            key = self.key_prefix + path
            held = [(m, c.port, b, c.size(b, key)) for m, c, b in self.pool]
            copies = [h for h in held if h[3] is not None]
            if len(copies) != 1 or copies[0][3] != size:
                raise BenchError("%s: %s%s should be on one member with %d bytes, found %s"
                                 % (self.name, self.key_prefix, path, size,
                                    ", ".join("%s (%s:%d s3://%s) %s" % (m, HOST, port, b, "-" if n is None else n)
                                              for m, port, b, n in held)))
        elif self.azure:
            key = self.key_prefix + path
            got = AZ.az_sizes(self.azure, key).get(key)
            if got != size:
                raise BenchError("%s: %s/%s has %s bytes, %d sent" % (self.name, self.azure, key, got, size))
        elif self.is_s3:
            got = S3_CLIENT.size(self.bucket, self.key_prefix + path)
            if got != size:
                raise BenchError("%s: s3://%s/%s%s has %s bytes, %d sent"
                                 % (self.name, self.bucket, self.key_prefix, path, got, size))
        else:
            check_local(self.local_root / path, size)

    def complete(self, paths, size):
        if self.pool:
            return self.pool_complete(paths, size)
        if self.azure:
            # a blob is visible only once committed, before the client hears of success
            return time.monotonic()
        if self.is_s3:
            return S3_CLIENT.wait_complete(self.bucket, [self.key_prefix + p for p in paths], size)
        for p in paths:
            check_local(self.local_root / p, size)
        return time.monotonic()

    def pool_complete(self, paths, size, timeout=300):
        """Polls every member until each object is on one of them with the full size: a listing
        of the folder per member and round (not a HeadObject per key and member), so three
        servers cost the check no more than one."""
        keys = {self.key_prefix + p for p in paths}
        prefix = os.path.commonprefix(sorted(keys))
        prefix = prefix[:prefix.rfind("/") + 1]
        deadline = time.monotonic() + timeout
        while True:
            where = {}
            for m, c, b in self.pool:
                for k, n in c.sizes(b, prefix).items():
                    if k in keys and n == size:
                        where.setdefault(k, []).append(m)
            done = time.monotonic()
            if len(where) == len(keys):
                break
            if done > deadline:
                raise BenchError("%s: %d objects not complete on any member after %d s (e.g. %s)"
                                 % (self.name, len(keys) - len(where), timeout, sorted(keys - set(where))[0]))
            time.sleep(0.05)
        spread = {m: sum(1 for ms in where.values() if m in ms) for m, _, _ in self.pool}
        log("%s: %d objects on %s" % (self.name, len(keys), ", ".join("%s %d" % (m, n) for m, n in spread.items())))
        return done

    def gateway_delete(self, path, codes=(204,)):
        import http.client
        conn = http.client.HTTPConnection(HOST, self.port, timeout=60)
        try:
            auth = base64.b64encode(("%s:%s" % (self.user, self.password)).encode()).decode()
            conn.request("DELETE", "%s/%s" % (self.url_prefix, path), headers={"Authorization": "Basic " + auth})
            r = conn.getresponse()
            body = r.read()
        finally:
            conn.close()
        if r.status not in codes:
            raise BenchError("%s: DELETE %s answered %d: %s" % (self.name, path, r.status, body[:200]))

    def remove(self, path, files=()):
        """Removes a file, or a folder and the files in it (named, for S3: a listing is slow)."""
        if self.pool:
            # through the gateway, so its ledger forgets the copies too; then no member may hold any
            for f in files or [path]:
                self.gateway_delete(f)
            if files:
                # the folder goes with its last file when no member holds a marker of it: 404 then
                self.gateway_delete(path, codes=(204, 404))
            prefix = self.key_prefix + path + ("/" if files else "")
            left = ["%s:%s" % (m, k) for m, c, b in self.pool for k in c.sizes(b, prefix)
                    if k == self.key_prefix + path or k.startswith(self.key_prefix + path + "/")]
            if left:
                raise BenchError("%s: still on the members after DELETE: %s" % (self.name, ", ".join(left[:5])))
        elif self.azure:
            AZ.az(self.azure, "delete", self.key_prefix + path)
        elif self.is_s3:
            for f in files or [path]:
                S3_CLIENT.c.delete_object(Bucket=self.bucket, Key=self.key_prefix + f)
            if files:
                S3_CLIENT.c.delete_object(Bucket=self.bucket, Key=self.key_prefix + path + "/")
        else:
            p = self.local_root / path
            if p.is_dir():
                shutil.rmtree(p, ignore_errors=True)
            elif p.exists():
                p.unlink()


S3_CLIENT = None
AZ = None   # the bench, for its Azure client (Target checks of Azurite)


# ---------------------------------------------------------------------------
# clients

def curl_put(t, src, path, codes=("201",)):
    if t.proto == "ftp":
        out, _ = run(["curl", "-sS", "--ftp-method", "nocwd", "-T", str(src), "-w", "%{response_code} %{size_upload}",
                      t.url(path)], what="%s FTP STOR %s" % (t.name, path))
        code, sent = out.split()
        if code != "226" or int(sent) != src.stat().st_size:
            raise BenchError("%s: FTP STOR %s answered %s after %s bytes" % (t.name, path, code, sent))
        return
    out, _ = run(["curl", "-sS", "-T", str(src), "-o", "/dev/null", "-w", "%{http_code} %{size_upload}"]
                 + t.auth_args() + [t.url(path)], what="%s PUT %s" % (t.name, path))
    code, sent = out.split()
    if code not in codes or int(sent) != src.stat().st_size:
        raise BenchError("%s: PUT %s answered %s after %s bytes" % (t.name, path, code, sent))


def make_dir(t, d):
    """A WebDAV server (rclone serve webdav, the gateway's /dav/) needs its folder made first
    (MKCOL), as a WebDAV client would; the others make parent folders themselves (the gateway, nginx's create_full_put_path, curl's
    --ftp-create-dirs)."""
    if t.proto == "ftp":
        # uploads then STOR dir/name straight (curl --ftp-method nocwd), no CWD per file
        # (a folder that exists already answers 550: fine)
        run(["curl", "-sS", "-Q", "MKD " + d, "-o", "/dev/null", t.url("")], what="%s MKD" % t.name, check=False)
    elif t.proto == "http" and t.dav:
        out, _ = run(["curl", "-sS", "-X", "MKCOL", "-o", "/dev/null", "-w", "%{http_code}"] + t.auth_args() + [t.url(d + "/")],
                     what="MKCOL")
        if out not in ("201", "405"):
            raise BenchError("%s: MKCOL %s answered %s" % (t.name, d, out))


def curl_put_argv(t, src, path):
    return ["curl", "-sS", "--ftp-method", "nocwd", "-T", str(src), "-o", "/dev/null",
            "-w", "%{response_code} %{size_upload}\n"] + t.auth_args() + [t.url(path)]


def curl_get(t, path, size):
    out, _ = run(["curl", "-sS", "--ftp-method", "nocwd", "-o", "/dev/null", "-w", "%{response_code} %{size_download}"]
                 + t.auth_args() + [t.url(path)], what="%s GET %s" % (t.name, path))
    code, got = out.split()
    want = "226" if t.proto == "ftp" else "200"
    if code != want or int(got) != size:
        raise BenchError("%s: GET %s answered %s with %s of %d bytes" % (t.name, path, code, got, size))


SFTP_CIPHER = None   # --sftp-cipher: the client's own choice unless given


def sftp_batch(t, key, batch, what):
    """OpenSSH's sftp client in batch mode (the same client for every SFTP server): stops at
    the first command that fails, and then exits non-zero."""
    bf = key.parent / "sftp-batch"
    bf.write_text(batch)
    cipher = ["-c", SFTP_CIPHER] if SFTP_CIPHER else []
    run(["sftp", "-q", "-F", "/dev/null", "-b", str(bf), "-P", str(t.port), "-i", str(key)] + cipher + [
         "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes",
         "-o", "IdentitiesOnly=yes", "-o", "LogLevel=ERROR", "%s@%s" % (t.user, HOST)], what=what)


def rclone_argv(cfg, *args):
    return ["rclone", "--config", str(cfg)] + list(args)


# ---------------------------------------------------------------------------
# the harness

class Bench:
    def __init__(self, args):
        self.a = args
        self.work = Path(args.workdir)
        self.logs = self.work / "logs"
        self.procs = Procs()
        self.results = {}   # (workload, system) -> list of dicts
        self.quick = args.quick
        self.big = (64 if self.quick else 1024) * MiB
        self.par_n, self.par_size = 16, (8 if self.quick else 64) * MiB
        self.small_n, self.small_size = (200 if self.quick else 2000), 64 * 1024
        self.idle_n = 100 if self.quick else 1000
        self.mixed_clients = 10 if self.quick else 50
        self.mixed_seconds = 10 if self.quick else 60
        only = set(args.only.split(",")) if args.only else None
        # the pool's two more S3Proxy servers, its backends and its user exist only for its workloads
        self.with_pool = not only or any(w in only for w in POOL_WORKLOADS)
        # OpenSSH's sshd runs only for the SFTP workloads
        self.with_sftp = not only or any(w in only for w in SFTP_WORKLOADS)
        # Azurite and the gateway's azure backend run only for the Azure workloads
        self.with_azure = not only or any(w in only for w in AZURE_WORKLOADS)

    # ---- set-up ---------------------------------------------------------------

    def setup(self):
        if self.work.exists():
            shutil.rmtree(self.work)
        for d in ["logs", "data", "gw/files", "gw/data", "vsftpd-files", "nginx/files", "nginx/temp",
                  "s3", "s3-b", "s3-c", "mnt", "rclone-cache", "ssh", "sshd-files", "downloads"]:
            (self.work / d).mkdir(parents=True, exist_ok=True)
        self.make_data()
        self.make_ssh_key()
        self.start_s3proxy()
        if self.with_azure:
            global AZ
            AZ = self
            self.start_azurite()
        self.start_gateway()
        self.start_vsftpd()
        if self.with_sftp:
            self.start_sshd()
        self.start_nginx()
        self.start_rclone()

    def make_data(self):
        d = self.work / "data"
        log("generating test files in %s" % d)
        with open("/dev/urandom", "rb") as r:
            def write(path, size):
                with open(path, "wb") as f:
                    left = size
                    while left:
                        n = min(left, 8 * MiB)
                        f.write(r.read(n))
                        left -= n
            write(d / "big.bin", self.big)
            (d / "par").mkdir()
            write(d / "par" / "p00.bin", self.par_size)
            for i in range(1, self.par_n):
                os.link(d / "par" / "p00.bin", d / "par" / ("p%02d.bin" % i))
            (d / "small").mkdir()
            for i in range(self.small_n):
                write(d / "small" / ("f%04d.bin" % i), self.small_size)
        self.big_file = d / "big.bin"
        self.par_files = sorted((d / "par").iterdir())
        self.small_files = sorted((d / "small").iterdir())

    def make_ssh_key(self):
        """The SFTP client's key, which the gateway's bench user and sshd's authorized_keys both accept."""
        self.ssh_key = self.work / "ssh" / "id_ed25519"
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "bench", "-f", str(self.ssh_key)], what="ssh-keygen")
        self.ssh_pub = Path(str(self.ssh_key) + ".pub").read_text().strip()

    def wait_port(self, port, proc, timeout=60):
        import socket
        deadline = time.time() + timeout
        while time.time() < deadline:
            if proc.poll() is not None:
                raise BenchError("%s exited at start-up (status %s); see %s"
                                 % (proc.bench_name, proc.returncode, proc.bench_log))
            try:
                socket.create_connection((HOST, port), 0.5).close()
                return
            except OSError:
                time.sleep(0.2)
        raise BenchError("%s does not listen on %d after %d s" % (proc.bench_name, port, timeout))

    def start_azurite(self):
        """Azurite on its port with its own folder, the bench's Azure client compiled against the
        gateway's jar (its Azure SDK), and the two containers: the gateway's and the SDK's."""
        if not shutil.which("azurite-blob"):
            raise BenchError("azurite-blob is missing: npm install -g azurite@3.37.0")
        classes = self.work / "azclient"
        classes.mkdir(exist_ok=True)
        run(["javac", "-nowarn", "-cp", str(self.a.jar), "-d", str(classes), str(Path(__file__).parent / "AzureClient.java")],
            what="javac AzureClient")
        self.az_classpath = "%s:%s" % (self.a.jar, classes)
        # Azurite frees the bytes of deleted blobs only in its garbage collection, every 10
        # minutes: the Azure rows leave up to 20 GiB behind before it runs. In a tmpfs work
        # folder that is memory, and the kernel's OOM killer then took the gateway in the
        # rows after them. So its folder is on disk (page cache, reclaimable).
        location = Path(self.a.azurite_dir)
        if location.exists():
            shutil.rmtree(location)
        location.mkdir(parents=True)
        p = self.procs.start("azurite", ["azurite-blob", "--blobHost", HOST, "--blobPort", str(AZURITE),
                                         "--location", str(location), "--silent", "--skipApiVersionCheck",
                                         "--disableTelemetry", "--loose"], self.logs)
        self.wait_port(AZURITE, p)
        for container in (AZ_GW, AZ_DIRECT):
            self.az(container, "mkcontainer")
        log("Azurite on %d" % AZURITE)

    def az_argv(self, container, *args):
        return ["java", "-cp", self.az_classpath, "AzureClient", "http://%s:%d/%s" % (HOST, AZURITE, AZ_ACCOUNT),
                AZ_ACCOUNT, AZ_KEY, container] + list(args)

    def az(self, container, *args):
        out, _ = run(self.az_argv(container, *args), what="AzureClient %s" % args[0])
        return out

    def az_sizes(self, container, prefix):
        sizes = {}
        for line in self.az(container, "sizes", prefix).splitlines():
            if "\t" in line:
                k, n = line.rsplit("\t", 1)
                sizes[k] = int(n)
        return sizes

    def start_s3proxy(self):
        servers = [("s3proxy", S3PROXY, self.work / "s3")]
        if self.with_pool:
            servers += [("s3proxy-b", S3PROXY_B, self.work / "s3-b"), ("s3proxy-c", S3PROXY_C, self.work / "s3-c")]
        # all at once: a JVM's start-up is most of the cost
        started = [(self.s3proxy_proc(name, port, basedir), port) for name, port, basedir in servers]
        self.s3proxies = [p for p, _ in started]
        for p, port in started:
            self.wait_port(port, p)
        global S3_CLIENT
        S3_CLIENT = S3()
        for b in (BUCKET_GW, BUCKET_RC, BUCKET_MNT):
            S3_CLIENT.ensure_bucket(b)
        log("S3Proxy on %s:%d (filesystem provider)" % (HOST, S3PROXY))
        self.pool_stores = []
        if self.with_pool:
            for member, port, bucket in POOL_MEMBERS:
                c = S3_CLIENT if port == S3PROXY else S3(port)
                c.ensure_bucket(bucket)
                self.pool_stores.append((member, c, bucket))
            log("S3Proxy on %d and %d too, for the pool (buckets %s)"
                % (S3PROXY_B, S3PROXY_C, ", ".join("%s:%d/%s" % (m, port, b) for m, port, b in POOL_MEMBERS)))

    def s3proxy_proc(self, name, port, basedir):
        conf = self.work / ("%s.conf" % name)
        conf.write_text("\n".join([
            "s3proxy.endpoint=http://%s:%d" % (HOST, port),
            "s3proxy.authorization=aws-v2-or-v4",
            "s3proxy.identity=%s" % S3_KEY,
            "s3proxy.credential=%s" % S3_SECRET,
            # rclone sends parts and files below its 200 MiB cut-off as signed single PUTs
            "s3proxy.v4-max-non-chunked-request-size=%d" % (256 * MiB),
            "jclouds.provider=filesystem",
            "jclouds.filesystem.basedir=%s" % basedir,
            ""]))
        cp = Path(self.a.s3proxy_classpath).read_text().strip()
        return self.procs.start(name, ["java", "-Xmx4g", "-Dlogback.configurationFile=%s" % (BENCH / "s3proxy" / "logback.xml"),
                                       "-cp", cp, "org.gaul.s3proxy.Main", "--properties", str(conf)], self.logs)

    def start_gateway(self):
        cfg = self.work / "gateway.yaml"
        cfg.write_text("""\
ftp:
  host: {h}
  port: {ftp}
  passive-ports: {pasv}
  passive-address: {h}
http:
  host: {h}
  port: {http}
sftp:
  host: {h}
  port: {sftp}
  host-key: {data}/ssh_host_ed25519_key
storage:
  backends:
    - name: local
      type: local
      root: {root}
    - name: s3
      type: s3
      bucket: {bucket}
      region: us-east-1
      endpoint: http://{h}:{s3}
      path-style: true
      access-key: {key}
      secret-key: {secret}
      checksums: {checksums}
    - name: s3u
      type: s3
      bucket: {bucket}
      region: us-east-1
      endpoint: http://{h}:{s3}
      path-style: true
      access-key: {key}
      secret-key: {secret}
      checksums: {checksums}
      payload-signing: false
{azure_backend}{pool_backends}users:
  - name: {u}
    password: {pw}
    backend: local
    authorized-keys: ["{pub}"]
  - name: {u3}
    password: {pw}
    backend: s3
  - name: {u3u}
    password: {pw}
    backend: s3u
{pool_users}{azure_user}limits:
  max-connections: {maxc}                 # per listener; every bench client comes from 127.0.0.1
  max-connections-per-address: {maxc}
ledger:
  url: {ledger}
data-dir: {data}
""".format(h=HOST, ftp=GW_FTP, pasv=GW_PASV, http=GW_HTTP, sftp=GW_SFTP, pub=self.ssh_pub, maxc=self.idle_n + 100,
           root=self.work / "gw/files", bucket=BUCKET_GW, s3=S3PROXY, key=S3_KEY, secret=S3_SECRET,
           checksums=self.a.gateway_s3_checksums, u=GW_USER, u3=GW_USER_S3, u3u=GW_USER_S3U, pw=GW_PASS, data=self.work / "gw/data",
           ledger=self.a.gateway_ledger_url or (self.work / "gw/data/ledger"),
           pool_backends=self.pool_config(), pool_users=self.pool_user_config(),
           azure_backend=("    - {{name: azure, type: azure, container: {c}, endpoint: 'http://{h}:{p}/{a}', account-name: {a},\n"
                          "       account-key: '{k}'}}\n").format(c=AZ_GW, h=HOST, p=AZURITE, a=AZ_ACCOUNT, k=AZ_KEY)
           if self.with_azure else "",
           azure_user=("  - name: %s\n    password: %s\n    backend: azure\n" % (GW_USER_AZ, GW_PASS)) if self.with_azure else ""))
        jar = Path(self.a.jar)
        opts = self.a.gateway_java_opts.split()
        logf = self.logs / "gateway.log"
        offset = logf.stat().st_size if logf.exists() else 0
        p = self.procs.start("gateway", ["java"] + opts + ["-jar", str(jar), "serve", "--config", str(cfg)],
                             self.logs, cwd=str(self.work / "gw"))
        deadline = time.time() + 90
        while time.time() < deadline:
            text = p.bench_log.read_text(errors="replace")[offset:]
            if "listening: ftp" in text and "listening: http" in text and "listening: sftp" in text:
                break
            if p.poll() is not None:
                raise BenchError("the gateway exited at start-up (status %d): %s" % (p.returncode, text.strip()[-600:]))
            time.sleep(0.2)
        else:
            raise BenchError("the gateway did not log its listeners within 90 s")
        self.gw = p
        log("gateway (%s) on ftp %d, http %d, sftp %d" % (" ".join(opts), GW_FTP, GW_HTTP, GW_SFTP))

    def pool_config(self):
        """The pool's members (one S3Proxy server each) and the pool, as YAML under storage:."""
        if not self.with_pool:
            return ""
        text = ""
        for member, port, bucket in POOL_MEMBERS:
            text += ("    - {{name: {m}, type: s3, bucket: {b}, endpoint: 'http://{h}:{p}', region: us-east-1, path-style: true,\n"
                     "       access-key: {k}, secret-key: {s}, checksums: {c}}}\n").format(
                m=member, b=bucket, h=HOST, p=port, k=S3_KEY, s=S3_SECRET, c=self.a.gateway_s3_checksums)
        text += "  pools:\n    - {name: spread, backends: [%s], policy: round-robin, replicas: 1}\n" % (
            ", ".join(m for m, _, _ in POOL_MEMBERS))
        return text

    def pool_user_config(self):
        if not self.with_pool:
            return ""
        return "  - name: %s\n    password: %s\n    backend: spread\n" % (GW_USER_POOL, GW_PASS)

    def restart_gateway(self):
        self.gw.send_signal(signal.SIGTERM)
        try:
            self.gw.wait(30)
        except subprocess.TimeoutExpired:
            raise BenchError("the gateway did not stop within 30 s of SIGTERM")
        self.procs.procs.remove(self.gw)
        self.start_gateway()

    def vsftpd_conf(self, name, port, pasv, root):
        conf = self.work / ("%s.conf" % name)
        conf.write_text("\n".join([
            "listen=YES", "listen_ipv6=NO", "listen_address=%s" % HOST, "listen_port=%d" % port,
            "background=NO", "anonymous_enable=NO", "local_enable=YES", "write_enable=YES",
            "local_umask=022", "local_root=%s" % root, "chroot_local_user=NO",
            "pasv_enable=YES", "pasv_min_port=%d" % pasv[0], "pasv_max_port=%d" % pasv[1],
            "pasv_address=%s" % HOST, "seccomp_sandbox=NO", "secure_chroot_dir=/var/run/vsftpd/empty",
            "pam_service_name=vsftpd", "max_clients=0", "max_per_ip=0", "idle_session_timeout=900",
            "xferlog_enable=NO", "dirmessage_enable=NO", "ssl_enable=NO", "utf8_filesystem=YES", ""]))
        return conf

    def start_vsftpd(self):
        root = self.work / "vsftpd-files"
        shutil.chown(root, FTP_SYS_USER, FTP_SYS_USER)
        p = self.procs.start("vsftpd", ["vsftpd", str(self.vsftpd_conf("vsftpd", VSFTPD, VSFTPD_PASV, root))], self.logs)
        self.wait_port(VSFTPD, p)
        self.vsftpd = p
        log("vsftpd on %d" % VSFTPD)

    def start_sshd(self):
        """OpenSSH's sshd on its own port, config, host key and authorized_keys, all in the work
        folder: no change to the system's sshd. The vsftpd peer's system user logs in with the
        bench key; internal-sftp (sftp-server in the session's process) starts it in its folder."""
        d = self.work / "ssh"
        host_key = d / "sshd_host_ed25519_key"
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(host_key)], what="ssh-keygen (sshd host key)")
        (d / "authorized_keys").write_text(self.ssh_pub + "\n")
        root = self.work / "sshd-files"
        shutil.chown(root, FTP_SYS_USER, FTP_SYS_USER)
        conf = d / "sshd_config"
        conf.write_text("\n".join([
            "ListenAddress %s" % HOST, "Port %d" % SSHD, "HostKey %s" % host_key, "PidFile %s" % (d / "sshd.pid"),
            "AuthorizedKeysFile %s" % (d / "authorized_keys"), "AuthenticationMethods publickey",
            "PasswordAuthentication no", "KbdInteractiveAuthentication no", "UsePAM no",
            # the bench's files live in /dev/shm (world-writable): not a place StrictModes accepts
            "StrictModes no", "AllowUsers %s" % FTP_SYS_USER, "PermitRootLogin no",
            "MaxStartups 100:30:200", "MaxSessions 100", "UseDNS no", "PrintMotd no",
            "Subsystem sftp internal-sftp", "ForceCommand internal-sftp -d %s" % root,
            "AllowTcpForwarding no", "X11Forwarding no", ""]))
        os.makedirs("/run/sshd", exist_ok=True)   # its privilege separation folder
        p = self.procs.start("sshd", ["/usr/sbin/sshd", "-D", "-e", "-f", str(conf)], self.logs)
        self.wait_port(SSHD, p)
        self.sshd = p
        log("sshd on %d (internal-sftp, user %s)" % (SSHD, FTP_SYS_USER))

    def start_nginx(self):
        n = self.work / "nginx"
        (n / "files" / "idle.txt").write_text("ok\n")
        conf = n / "nginx.conf"
        conf.write_text("""\
user root;
worker_processes auto;
daemon off;
pid {n}/nginx.pid;
error_log {n}/error.log warn;
events {{ worker_connections 8192; }}
http {{
  access_log off;
  sendfile on;
  keepalive_timeout 900s;
  keepalive_requests 1000000;
  client_max_body_size 0;
  client_body_temp_path {n}/files/.temp;
  proxy_temp_path {n}/temp/proxy;
  fastcgi_temp_path {n}/temp/fastcgi;
  uwsgi_temp_path {n}/temp/uwsgi;
  scgi_temp_path {n}/temp/scgi;
  server {{
    listen {h}:{port};
    root {n}/files;
    location / {{
      dav_methods PUT DELETE;
      create_full_put_path on;
      dav_access user:rw group:r all:r;
    }}
  }}
}}
""".format(n=n, h=HOST, port=NGINX))
        p = self.procs.start("nginx", ["nginx", "-p", str(n), "-c", str(conf), "-e", str(n / "error.log")], self.logs)
        self.wait_port(NGINX, p)
        self.nginx = p
        log("nginx on %d" % NGINX)

    def start_rclone(self):
        cfg = self.work / "rclone.conf"
        cfg.write_text("""\
[s3p]
type = s3
provider = Other
env_auth = false
access_key_id = {k}
secret_access_key = {s}
endpoint = http://{h}:{p}
region = us-east-1
force_path_style = true
""".format(k=S3_KEY, s=S3_SECRET, h=HOST, p=S3PROXY))
        self.rclone_cfg = cfg
        p = self.procs.start("rclone-webdav", rclone_argv(cfg, "serve", "webdav", "s3p:" + BUCKET_RC,
                                                          "--addr", "%s:%d" % (HOST, WEBDAV)), self.logs, env=NO_CA_ENV)
        self.wait_port(WEBDAV, p)
        self.webdav = p
        dav_files = self.work / "rclone-dav-files"
        dav_files.mkdir(parents=True, exist_ok=True)
        p = self.procs.start("rclone-webdav-local", rclone_argv(cfg, "serve", "webdav", str(dav_files),
                                                                "--addr", "%s:%d" % (HOST, WEBDAV_LOCAL)), self.logs, env=NO_CA_ENV)
        self.wait_port(WEBDAV_LOCAL, p)
        self.webdav_local = p
        mnt = self.work / "mnt"
        import pwd
        pw = pwd.getpwnam(FTP_SYS_USER)
        m = self.procs.start("rclone-mount", rclone_argv(
            cfg, "mount", "s3p:" + BUCKET_MNT, str(mnt), "--vfs-cache-mode", "writes",
            # Uploaded files otherwise stay cached for an hour: 9 GiB of the tmpfs (memory)
            # by the S3 download rows, and with the rest the kernel's OOM killer took S3Proxy.
            "--vfs-cache-max-size", "4G", "--vfs-cache-poll-interval", "10s",
            "--cache-dir", str(self.work / "rclone-cache"), "--allow-other",
            "--uid", str(pw.pw_uid), "--gid", str(pw.pw_gid), "--umask", "022"), self.logs, env=NO_CA_ENV)
        self.procs.mounts.append(mnt)
        deadline = time.time() + 30
        while not os.path.ismount(mnt):
            if m.poll() is not None or time.time() > deadline:
                raise BenchError("rclone mount did not mount %s; see %s" % (mnt, m.bench_log))
            time.sleep(0.2)
        self.mount = m
        p = self.procs.start("vsftpd-mount", ["vsftpd", str(self.vsftpd_conf("vsftpd-mount", VSFTPD_MNT, VSFTPD_MNT_PASV, mnt))],
                             self.logs)
        self.wait_port(VSFTPD_MNT, p)
        self.vsftpd_mnt = p
        log("rclone serve webdav on %d (S3) and %d (local disk); vsftpd on %d over rclone mount --vfs-cache-mode writes"
            % (WEBDAV, WEBDAV_LOCAL, VSFTPD_MNT))

    # ---- targets ----------------------------------------------------------------

    def targets(self):
        gw_root = self.work / "gw/files"
        g = [self.gw.pid]
        T = {}
        T["gw-ftp-local"] = Target("gateway FTP", "ftp", GW_FTP, GW_USER, GW_PASS, local_root=gw_root / GW_USER, roots=g)
        T["gw-http-local"] = Target("gateway HTTP", "http", GW_HTTP, GW_USER, GW_PASS, "/files", local_root=gw_root / GW_USER, roots=g)
        T["gw-ftp-s3"] = Target("gateway FTP", "ftp", GW_FTP, GW_USER_S3, GW_PASS, bucket=BUCKET_GW, key_prefix=GW_USER_S3 + "/", roots=g)
        T["gw-http-s3"] = Target("gateway HTTP", "http", GW_HTTP, GW_USER_S3, GW_PASS, "/files", bucket=BUCKET_GW,
                                 key_prefix=GW_USER_S3 + "/", roots=g)
        T["gw-http-s3u"] = Target("gateway HTTP, unsigned bodies", "http", GW_HTTP, GW_USER_S3U, GW_PASS, "/files",
                                  bucket=BUCKET_GW, key_prefix=GW_USER_S3U + "/", roots=g)
        # The same uploads while dashboards poll their queries at a fixed, high rate (dash-poll).
        T["gw-http-polled"] = Target("gateway HTTP, dashboard polling", "http", GW_HTTP, GW_USER, GW_PASS, "/files",
                                     local_root=gw_root / GW_USER, roots=g)
        T["gw-http-polled"].poll = True
        if self.with_pool:
            T["gw-http-pool"] = Target("gateway HTTP (pool of 3)", "http", GW_HTTP, GW_USER_POOL, GW_PASS, "/files",
                                       key_prefix=GW_USER_POOL + "/", roots=g, pool=self.pool_stores)
        T["vsftpd"] = Target("vsftpd", "ftp", VSFTPD, FTP_SYS_USER, FTP_SYS_PASS, local_root=self.work / "vsftpd-files",
                             single=False, roots=[self.vsftpd.pid])
        T["nginx"] = Target("nginx", "http", NGINX, local_root=self.work / "nginx/files", single=False, roots=[self.nginx.pid])
        T["webdav"] = Target("rclone serve webdav", "http", WEBDAV, bucket=BUCKET_RC, roots=[self.webdav.pid], dav=True)
        T["gw-dav-local"] = Target("gateway WebDAV", "http", GW_HTTP, GW_USER, GW_PASS, "/dav", local_root=gw_root / GW_USER,
                                   roots=g, dav=True)
        T["rclone-dav-local"] = Target("rclone serve webdav (local disk)", "http", WEBDAV_LOCAL,
                                       local_root=self.work / "rclone-dav-files", roots=[self.webdav_local.pid], dav=True)
        T["vsftpd-mount"] = Target("vsftpd on rclone mount", "ftp", VSFTPD_MNT, FTP_SYS_USER, FTP_SYS_PASS, bucket=BUCKET_MNT,
                                   single=False, roots=[self.vsftpd_mnt.pid, self.mount.pid])
        T["rclone-copy"] = Target("rclone copy (direct)", "s3", 0, bucket=BUCKET_RC)
        if self.with_azure:
            T["gw-http-azure"] = Target("gateway HTTP", "http", GW_HTTP, GW_USER_AZ, GW_PASS, "/files", azure=AZ_GW,
                                        key_prefix=GW_USER_AZ + "/", roots=g)
            T["gw-ftp-azure"] = Target("gateway FTP", "ftp", GW_FTP, GW_USER_AZ, GW_PASS, azure=AZ_GW,
                                       key_prefix=GW_USER_AZ + "/", roots=g)
            T["azure-sdk"] = Target("Azure SDK for Java (direct)", "azure-sdk", 0, azure=AZ_DIRECT)
        T["gw-sftp-local"] = Target("gateway SFTP", "sftp", GW_SFTP, GW_USER, local_root=gw_root / GW_USER, roots=g)
        if self.with_sftp:
            T["sshd"] = Target("OpenSSH sshd (internal-sftp)", "sftp", SSHD, FTP_SYS_USER, local_root=self.work / "sshd-files",
                               single=False, roots=[self.sshd.pid])
        return T

    # ---- workloads --------------------------------------------------------------
    # Each returns a result dict: seconds (client saw success), done_seconds (the data
    # complete in its storage), bytes, files, rss_mib.

    def w_put_big(self, t, r):
        path = "big-r%d.bin" % r
        size = self.big
        if t.proto == "azure-sdk":
            # timed by the client itself: the upload, not the JVM's start
            out = []
            kib = run_measuring_child(self.az_argv(t.azure, "put", str(self.big_file), path), what="AzureClient put",
                                      output=out)
            secs = float(out[0].split()[-1])
            res = dict(seconds=secs, done_seconds=secs, bytes=size, files=1, rss_mib=kib / 1024.0)
        elif t.proto == "s3":
            t0 = time.monotonic()
            kib = run_measuring_child(rclone_argv(self.rclone_cfg, "copyto", str(self.big_file), "s3p:%s/%s" % (t.bucket, path)),
                                      env=NO_CA_ENV, what="rclone copyto")
            t1 = time.monotonic()
            done = t.complete([path], size)
            res = dict(seconds=t1 - t0, done_seconds=done - t0, bytes=size, files=1, rss_mib=kib / 1024.0)
        else:
            with t.memory() as m:
                t0 = time.monotonic()
                curl_put(t, self.big_file, path)
                t1 = time.monotonic()
                done = t.complete([path], size)
            res = dict(seconds=t1 - t0, done_seconds=done - t0, bytes=size, files=1, rss_mib=m.mib)
        t.verify(path, size)
        t.remove(path)
        return res

    def w_put_par(self, t, r):
        d = "par-r%d" % r
        paths = ["%s/%s" % (d, f.name) for f in self.par_files]
        size = self.par_size
        make_dir(t, d)
        if t.proto == "azure-sdk":
            out = []
            kib = run_measuring_child(self.az_argv(t.azure, "putmany", str(self.par_n), d + "/",
                                                   *[str(f) for f in self.par_files]), what="AzureClient putmany", output=out)
            secs = float(out[0].split()[-1])
            res = dict(seconds=secs, done_seconds=secs, rss_mib=kib / 1024.0)
        elif t.proto == "s3":
            t0 = time.monotonic()
            kib = run_measuring_child(rclone_argv(self.rclone_cfg, "copy", str(self.par_files[0].parent),
                                                  "s3p:%s/%s" % (t.bucket, d), "--transfers", str(self.par_n)),
                                      env=NO_CA_ENV, what="rclone copy")
            t1 = time.monotonic()
            done = t.complete(paths, size)
            res = dict(seconds=t1 - t0, done_seconds=done - t0, rss_mib=kib / 1024.0)
        else:
            if t.proto == "http" and t.local_root is not None and t.name.startswith("nginx"):
                pass  # nginx creates the folder (create_full_put_path)
            with t.memory() as m:
                t0 = time.monotonic()
                outs = run_many([curl_put_argv(t, f, p) for f, p in zip(self.par_files, paths)],
                                what="%s parallel uploads" % t.name)
                t1 = time.monotonic()
                want = "226" if t.proto == "ftp" else "201"
                for o, p in zip(outs, paths):
                    code, sent = o.split()
                    if code != want or int(sent) != size:
                        raise BenchError("%s: upload of %s answered %s after %s bytes" % (t.name, p, code, sent))
                done = t.complete(paths, size)
            res = dict(seconds=t1 - t0, done_seconds=done - t0, rss_mib=m.mib)
        c0 = time.monotonic()
        for p in paths:
            t.verify(p, size)
        c1 = time.monotonic()
        t.remove(d, paths)
        if os.environ.get("BENCH_DEBUG"):
            log("verify %.2f s, remove %.2f s" % (c1 - c0, time.monotonic() - c1))
        res.update(bytes=size * self.par_n, files=self.par_n)
        return res

    def w_small(self, t, r):
        if getattr(t, "poll", False):
            return self.polled(lambda: self.w_small_plain(t, r), t)
        return self.w_small_plain(t, r)

    def polled(self, work, t):
        """Runs {work} while 4 threads ask the gateway's dashboard queries, together
        {self.a.dash_poll_rate} a second (0: without pause)."""
        stop = threading.Event()
        counts = [0] * 4
        per_thread = self.a.dash_poll_rate / 4.0
        auth = "Basic " + base64.b64encode(("%s:%s" % (t.user, t.password)).encode()).decode()
        paths = ["/api/stats", "/api/transfers?limit=100", "/api/throughput"]

        def poll(i):
            import http.client
            conn = http.client.HTTPConnection(HOST, t.port, timeout=30)
            k = 0
            t0 = time.monotonic()
            while not stop.is_set():
                if per_thread > 0:
                    wait = t0 + k / per_thread - time.monotonic()
                    if wait > 0:
                        stop.wait(wait)
                        continue
                conn.request("GET", paths[k % len(paths)], headers={"Authorization": auth})
                resp = conn.getresponse()
                resp.read()
                if resp.status != 200:
                    raise BenchError("dashboard poll of %s answered %d" % (paths[k % len(paths)], resp.status))
                k += 1
                counts[i] = k
            conn.close()

        threads = [threading.Thread(target=poll, args=(i,), daemon=True) for i in range(4)]
        for th in threads:
            th.start()
        try:
            res = work()
        finally:
            stop.set()
            for th in threads:
                th.join(timeout=30)
        res["polls"] = sum(counts)
        res["polls_per_s"] = sum(counts) / max(res["seconds"], 1e-9)
        log("%s: %d dashboard queries answered during the uploads (%.0f/s)" % (t.name, sum(counts), res["polls_per_s"]))
        return res

    def w_small_plain(self, t, r):
        d = "small-r%d" % r
        n, size = self.small_n, self.small_size
        if t.proto == "ftp":
            if t.local_root is not None and not t.is_s3:
                pass
            script = ("set cmd:fail-exit yes; set ftp:ssl-allow no; set net:max-retries 1; set net:timeout 60; "
                      "open -u %s,%s -p %d %s; mkdir -p %s; cd %s; lcd %s; mput *; quit"
                      % (t.user, t.password, t.port, HOST, d, d, self.small_files[0].parent))
            with t.memory() as m:
                t0 = time.monotonic()
                run(["lftp", "-c", script], what="%s lftp mput" % t.name)
                t1 = time.monotonic()
        else:
            make_dir(t, d)
            conns = 8
            cfgs = []
            for c in range(conns):
                lines = []
                for i in range(c, n, conns):
                    f = self.small_files[i]
                    lines += ['upload-file = "%s"' % f, 'url = "%s"' % t.url("%s/%s" % (d, f.name)), 'output = "/dev/null"']
                cf = self.work / ("curl-small-%d.cfg" % c)
                cf.write_text("\n".join(lines) + "\n")
                cfgs.append(["curl", "-sS", "-w", "%{http_code} %{size_upload} %{num_connects}\n"] + t.auth_args() + ["-K", str(cf)])
            with t.memory() as m:
                t0 = time.monotonic()
                outs = run_many(cfgs, what="%s small files" % t.name)
                t1 = time.monotonic()
            answers = [l.split() for o in outs for l in o.splitlines() if l.strip()]
            bad = [a for a in answers if a[0] != "201" or int(a[1]) != size]
            if len(answers) != n or bad:
                raise BenchError("%s: %d answers for %d PUTs, %d not 201 with %d bytes (e.g. %s)"
                                 % (t.name, len(answers), n, len(bad), size, bad[:1]))
            new_conns = sum(int(a[2]) for a in answers)
            if new_conns > conns:
                raise BenchError("%s: curl opened %d connections for %d keep-alive streams" % (t.name, new_conns, conns))
        done = t.complete(["%s/%s" % (d, f.name) for f in self.small_files], size)
        t.remove(d, ["%s/%s" % (d, f.name) for f in self.small_files])
        return dict(seconds=t1 - t0, done_seconds=done - t0, bytes=n * size, files=n, rss_mib=m.mib)

    def prepare_download(self, t):
        path = "get/big.bin"
        if t.proto == "s3":
            run(rclone_argv(self.rclone_cfg, "copyto", str(self.big_file), "s3p:%s/%s" % (t.bucket, path)), env=NO_CA_ENV)
        else:
            make_dir(t, "get")
            # the gateway's FTP and HTTP users share a home: the second upload replaces (200)
            curl_put(t, self.big_file, path, codes=("201", "200", "204"))
        t.complete([path], self.big)
        return path

    def w_get_big(self, t, r):
        path = "get/big.bin"
        size = self.big
        if t.proto == "s3":
            t0 = time.monotonic()
            # rclone cat streams the object to standard output (here /dev/null)
            kib = run_measuring_child(rclone_argv(self.rclone_cfg, "cat", "s3p:%s/%s" % (t.bucket, path)),
                                      env=NO_CA_ENV, what="rclone cat")
            t1 = time.monotonic()
            return dict(seconds=t1 - t0, done_seconds=t1 - t0, bytes=size, files=1, rss_mib=kib / 1024.0)
        with t.memory() as m:
            t0 = time.monotonic()
            curl_get(t, path, size)
            t1 = time.monotonic()
        return dict(seconds=t1 - t0, done_seconds=t1 - t0, bytes=size, files=1, rss_mib=m.mib)

    def prepare_append(self):
        """The append row's files, made when it runs: the 1 MiB of new bytes, and for the peer,
        which cannot append, the whole result (the big file, then those bytes)."""
        d = self.work / "data"
        self.tail_file, self.appended_file = d / "tail.bin", d / "appended.bin"
        if not self.tail_file.exists():
            with open("/dev/urandom", "rb") as r, open(self.tail_file, "wb") as f:
                f.write(r.read(MiB))
            with open(self.appended_file, "wb") as out:
                for part in (self.big_file, self.tail_file):
                    with open(part, "rb") as f:
                        shutil.copyfileobj(f, out, 8 * MiB)

    def w_append(self, t, r):
        """1 MiB appended to a stored object of the big size. The gateway gets FTP APPE (curl --append)
        onto an object it stored before (untimed); rclone has no append, so its way to the same object is
        copyto of the whole result. Timed until the bucket holds the full new size."""
        self.prepare_append()
        path = "append/r%d.bin" % r
        size = self.big + MiB
        if t.proto == "s3":
            t0 = time.monotonic()
            kib = run_measuring_child(rclone_argv(self.rclone_cfg, "copyto", str(self.appended_file),
                                                  "s3p:%s/%s" % (t.bucket, path)), env=NO_CA_ENV, what="rclone copyto")
            t1 = time.monotonic()
            done = t.complete([path], size)
            res = dict(seconds=t1 - t0, done_seconds=done - t0, rss_mib=kib / 1024.0)
        else:
            make_dir(t, "append")
            curl_put(t, self.big_file, path)
            t.complete([path], self.big)
            with t.memory() as m:
                t0 = time.monotonic()
                out, _ = run(["curl", "-sS", "--ftp-method", "nocwd", "--append", "-T", str(self.tail_file),
                              "-w", "%{response_code} %{size_upload}", t.url(path)], what="%s FTP APPE %s" % (t.name, path))
                t1 = time.monotonic()
                code, sent = out.split()
                if code != "226" or int(sent) != MiB:
                    raise BenchError("%s: FTP APPE %s answered %s after %s bytes" % (t.name, path, code, sent))
                done = t.complete([path], size)
            res = dict(seconds=t1 - t0, done_seconds=done - t0, rss_mib=m.mib)
        t.verify(path, size)
        # the new bytes at the end, and the stored ones still in front of them
        key = t.key_prefix + path
        end = S3_CLIENT.c.get_object(Bucket=t.bucket, Key=key, Range="bytes=%d-" % self.big)["Body"].read()
        start = S3_CLIENT.c.get_object(Bucket=t.bucket, Key=key, Range="bytes=0-%d" % (MiB - 1))["Body"].read()
        with open(self.tail_file, "rb") as f_tail, open(self.big_file, "rb") as f_big:
            if end != f_tail.read() or start != f_big.read(MiB):
                raise BenchError("%s: s3://%s/%s does not hold the stored bytes and then the appended ones" % (t.name, t.bucket, key))
        t.remove(path)
        # the rate at which each way produces the appended object: its time, as a throughput like the other rows
        res.update(bytes=size, files=1)
        return res

    # OpenSSH's sftp -b for both SFTP servers; the client saw success once the server
    # answered the CLOSE, when the gateway has committed the file.

    def w_sftp_put_big(self, t, r):
        path = "big-r%d.bin" % r
        with t.memory() as m:
            t0 = time.monotonic()
            sftp_batch(t, self.ssh_key, "put %s %s\n" % (self.big_file, path), "%s sftp put" % t.name)
            t1 = time.monotonic()
            done = t.complete([path], self.big)
        t.verify(path, self.big)
        t.remove(path)
        return dict(seconds=t1 - t0, done_seconds=done - t0, bytes=self.big, files=1, rss_mib=m.mib)

    def prepare_sftp_download(self, t):
        sftp_batch(t, self.ssh_key, "-mkdir get\nput %s get/big.bin\n" % self.big_file, "%s sftp put (download's file)" % t.name)
        t.complete(["get/big.bin"], self.big)

    def w_sftp_get_big(self, t, r):
        local = self.work / "downloads" / ("big-r%d.bin" % r)
        with t.memory() as m:
            t0 = time.monotonic()
            sftp_batch(t, self.ssh_key, "get get/big.bin %s\n" % local, "%s sftp get" % t.name)
            t1 = time.monotonic()
        check_local(local, self.big)
        local.unlink()
        return dict(seconds=t1 - t0, done_seconds=t1 - t0, bytes=self.big, files=1, rss_mib=m.mib)

    def w_sftp_small(self, t, r):
        d = "small-r%d" % r
        n, size = self.small_n, self.small_size
        with t.memory() as m:
            t0 = time.monotonic()
            sftp_batch(t, self.ssh_key, "mkdir %s\ncd %s\nlcd %s\nput *\n" % (d, d, self.small_files[0].parent),
                       "%s sftp put *" % t.name)
            t1 = time.monotonic()
            done = t.complete(["%s/%s" % (d, f.name) for f in self.small_files], size)
        t.remove(d, ["%s/%s" % (d, f.name) for f in self.small_files])
        return dict(seconds=t1 - t0, done_seconds=done - t0, bytes=n * size, files=n, rss_mib=m.mib)

    def w_idle(self, targets, ftp_t, http_t, http_path, r):
        """Idle connections: 1,000 logged-in FTP sessions and/or 1,000 keep-alive HTTP connections."""
        roots = []
        for t in targets:
            roots += t.roots
        single = len(targets) == 1 and targets[0].single
        argv = [sys.executable, str(BENCH / "idle.py"), "--count", str(self.idle_n), "--hold", "600"]
        if ftp_t:
            argv += ["--ftp-port", str(ftp_t.port), "--ftp-user", ftp_t.user, "--ftp-password", ftp_t.password]
        if http_t:
            argv += ["--http-port", str(http_t.port), "--http-path", http_path]
            if http_t.user:
                argv += ["--http-auth", base64.b64encode(("%s:%s" % (http_t.user, http_t.password)).encode()).decode()]
        with Memory(roots, single) as m:
            t0 = time.monotonic()
            p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            line = p.stdout.readline().strip()
            if not line.startswith("ready"):
                p.kill()
                raise BenchError("idle connections to %s: %s %s" % ("+".join(t.name for t in targets), line, p.stderr.read().strip()))
            t1 = time.monotonic()
            time.sleep(3)   # let the servers settle with every connection open
            held = m.current_mib()
            p.stdin.close()
            tail = p.stdout.read().strip()
            p.wait(60)
        expect = self.idle_n * ((1 if ftp_t else 0) + (1 if http_t else 0))
        if tail != "closed %d alive" % expect:
            raise BenchError("idle connections to %s: %s (expected %d alive)" % ("+".join(t.name for t in targets), tail, expect))
        return dict(seconds=t1 - t0, done_seconds=t1 - t0, bytes=0, files=expect, rss_mib=m.mib, held_mib=held)

    def prepare_mixed(self, targets):
        """The mixed workload's source files, one per size, in mixed-src on every target."""
        d = self.work / "data/mixed-src"
        if not d.exists():
            d.mkdir(parents=True)
            for label, size in (("64KiB", 64 * 1024), ("1MiB", MiB), ("64MiB", 64 * MiB)):
                with open(d / ("src-%s.bin" % label), "wb") as f:
                    f.write(os.urandom(size))
        for t in targets:
            make_dir(t, "mixed-src")
            for f in sorted(d.iterdir()):
                curl_put(t, f, "mixed-src/" + f.name, codes=("201", "200", "204"))
            for f in sorted(d.iterdir()):
                t.complete(["mixed-src/" + f.name], f.stat().st_size)

    def stored_in_s3(self, t, folder, sizes, timeout=600):
        """When every upload of {sizes} (path: bytes) was in the bucket with its size: polled
        by listing the folder, which costs the same for a few objects or thousands."""
        deadline = time.monotonic() + timeout
        prefix = t.key_prefix + folder + "/"
        while True:
            listed = S3_CLIENT.sizes(t.bucket, prefix)
            now = time.monotonic()
            missing = [p for p, n in sizes.items() if listed.get(t.key_prefix + p) != n]
            if not missing:
                return now
            if now > deadline:
                raise BenchError("%s: %d uploads not stored after %d s (e.g. %s)" % (t.name, len(missing), timeout, missing[0]))
            time.sleep(0.1)

    def gateway_stats(self, t):
        import http.client
        conn = http.client.HTTPConnection(HOST, GW_HTTP, timeout=60)
        try:
            auth = base64.b64encode(("%s:%s" % (t.user, t.password)).encode()).decode()
            conn.request("GET", "/api/stats", headers={"Authorization": "Basic " + auth})
            r = conn.getresponse()
            body = r.read()
        finally:
            conn.close()
        if r.status != 200:
            raise BenchError("GET /api/stats answered %d" % r.status)
        return json.loads(body)["transferred"]["byUser"].get(t.user, {})

    def w_mixed(self, ftp_t, http_t, r):
        """{self.mixed_clients} clients (half FTP, half HTTP) up- and downloading 64 KiB, 1 MiB
        and 64 MiB files for {self.mixed_seconds} s; until every upload is complete in its storage."""
        folder = "mixed-r%d" % r
        for t in (ftp_t, http_t):
            make_dir(t, folder)
        gateway = ftp_t.port == GW_FTP
        before = self.gateway_stats(http_t) if gateway else None
        roots = list(dict.fromkeys(ftp_t.roots + http_t.roots))
        single = ftp_t.single and http_t.single and len(roots) == 1
        argv = [sys.executable, str(BENCH / "mixed.py"), "--clients", str(self.mixed_clients),
                "--seconds", str(self.mixed_seconds), "--folder", folder, "--sources", "mixed-src",
                "--ftp", "%s:%d:%s:%s" % (HOST, ftp_t.port, ftp_t.user, ftp_t.password),
                "--http", "%s:%d:%s:%s:%s" % (HOST, http_t.port, http_t.url_prefix, http_t.user or "", http_t.password or "")]
        with Memory(roots, single) as m:
            t0 = time.monotonic()
            out, _ = run(argv, timeout=self.mixed_seconds + 600, check=False, what="mixed clients")
            res = json.loads(out)
            if res["errors"]:
                raise BenchError("mixed workload on %s + %s: %d clients failed, e.g. %s"
                                 % (ftp_t.name, http_t.name, len(res["errors"]), res["errors"][0]))
            # uploads through a mount are written back later: the run ends when all are stored
            done = t0 + 2.0 + res["seconds"]
            for t, proto in ((ftp_t, "ftp"), (http_t, "http")):
                mine = {p: n for p, n in res["uploaded"] if p.split("/")[-1].startswith(proto)}
                if t.is_s3:
                    done = max(done, self.stored_in_s3(t, folder, mine))
                else:
                    for p, n in mine.items():
                        check_local(t.local_root / p, n)
        if gateway:
            after = self.gateway_stats(http_t)
            ups = [o for o in res["ops"] if o[1] == "up"]
            downs = [o for o in res["ops"] if o[1] == "down"]
            want = dict(filesIn=len(ups), bytesIn=sum(o[3] for o in ups), filesOut=len(downs),
                        bytesOut=sum(o[3] for o in downs), failedIn=0, failedOut=0)
            got = {k: after.get(k, 0) - before.get(k, 0) for k in want}
            if got != want:
                raise BenchError("the gateway counted %s for the mixed workload's %s" % (got, want))
            log("mixed: the gateway's statistics match the clients exactly: %s" % want)
        for t, proto in ((ftp_t, "ftp"), (http_t, "http")):
            t.remove(folder, [p for p, _ in res["uploaded"] if p.split("/")[-1].startswith(proto)])
        # seconds from the clients' start (2 s after launch) to the last upload stored
        return dict(seconds=res["seconds"], done_seconds=done - t0 - 2.0, bytes=res["bytes"], files=res["files"],
                    rss_mib=m.mib, ops=res["ops"])

    # ---- plan ------------------------------------------------------------------

    def plan(self, T):
        """(workload id, title, unit, [(system id, target)], [(gateway id, peer id, target ratio)])"""
        P = []
        big = "%d MiB" % (self.big // MiB) if self.big < 1024 * MiB else "1 GiB"
        par = "%d x %d MiB" % (self.par_n, self.par_size // MiB)
        small = "%d x 64 KiB" % self.small_n
        P.append(("put-big-local", "%s upload to local disk" % big, "MiB/s", self.w_put_big,
                  ["gw-ftp-local", "vsftpd", "gw-http-local", "nginx"],
                  [("gw-ftp-local", "vsftpd", 1.0), ("gw-http-local", "nginx", 1.0)]))
        P.append(("small-local", "%s to local disk (FTP: 1 lftp session; HTTP: 8 curl keep-alive connections)" % small,
                  "files/s", self.w_small, ["gw-ftp-local", "vsftpd", "gw-http-local", "nginx"],
                  [("gw-ftp-local", "vsftpd", 1.0), ("gw-http-local", "nginx", 1.0)]))
        P.append(("par-local", "%s parallel uploads to local disk" % par, "MiB/s", self.w_put_par,
                  ["gw-ftp-local", "vsftpd", "gw-http-local", "nginx"],
                  [("gw-ftp-local", "vsftpd", None), ("gw-http-local", "nginx", None)]))
        P.append(("get-big-local", "%s download from local disk" % big, "MiB/s", self.w_get_big,
                  ["gw-ftp-local", "vsftpd", "gw-http-local", "nginx"],
                  [("gw-ftp-local", "vsftpd", None), ("gw-http-local", "nginx", None)]))
        P.append(("dav-put-big", "%s WebDAV PUT to local disk (nginx: dav_methods PUT)" % big, "MiB/s", self.w_put_big,
                  ["gw-dav-local", "nginx", "rclone-dav-local"],
                  [("gw-dav-local", "nginx", 0.8), ("gw-dav-local", "rclone-dav-local", 0.8)]))
        P.append(("dav-small", "%s WebDAV PUT to local disk (8 curl keep-alive connections)" % small, "files/s", self.w_small,
                  ["gw-dav-local", "nginx", "rclone-dav-local"],
                  [("gw-dav-local", "nginx", 0.8), ("gw-dav-local", "rclone-dav-local", 0.8)]))
        if "azure-sdk" in T:
            P.append(("put-big-azure", "%s upload into Azurite (Azure Blob), the blob committed" % big, "MiB/s", self.w_put_big,
                      ["gw-http-azure", "gw-ftp-azure", "azure-sdk"],
                      [("gw-http-azure", "azure-sdk", 0.9), ("gw-ftp-azure", "azure-sdk", 0.9)]))
            P.append(("par-azure", "%s parallel uploads into Azurite (Azure Blob)" % par, "MiB/s", self.w_put_par,
                      ["gw-http-azure", "azure-sdk"], [("gw-http-azure", "azure-sdk", 0.9)]))
        P.append(("put-big-s3", "%s upload into S3 (until complete in the bucket)" % big, "MiB/s", self.w_put_big,
                  ["gw-http-s3", "webdav", "rclone-copy", "gw-ftp-s3", "vsftpd-mount"],
                  [("gw-http-s3", "webdav", 1.2), ("gw-http-s3", "rclone-copy", 0.9),
                   ("gw-ftp-s3", "vsftpd-mount", None), ("gw-ftp-s3", "rclone-copy", 0.9)]))
        P.append(("par-s3", "%s parallel uploads into S3 (until complete in the bucket)" % par, "MiB/s", self.w_put_par,
                  ["gw-http-s3", "webdav", "rclone-copy", "gw-ftp-s3", "vsftpd-mount"],
                  [("gw-http-s3", "webdav", 1.2), ("gw-http-s3", "rclone-copy", 0.9),
                   ("gw-ftp-s3", "vsftpd-mount", None)]))
        P.append(("get-big-s3", "%s download from S3" % big, "MiB/s", self.w_get_big,
                  ["gw-http-s3", "webdav", "rclone-copy", "gw-ftp-s3", "vsftpd-mount"],
                  [("gw-http-s3", "webdav", None), ("gw-http-s3", "rclone-copy", None), ("gw-ftp-s3", "vsftpd-mount", None)]))
        P.append(("append-s3", "1 MiB appended to a %s object in S3, until complete (gateway: FTP APPE with curl, the stored "
                  "bytes copied inside S3; rclone cannot append: copyto of the whole %s + 1 MiB); MiB/s of the resulting object"
                  % (big, big), "MiB/s", self.w_append, ["gw-ftp-s3", "rclone-copy"], [("gw-ftp-s3", "rclone-copy", None)]))
        P.append(("dash-poll", "%s to local disk over HTTP while 4 dashboard clients poll /api/stats, "
                  "/api/transfers and /api/throughput, %s, vs without them"
                  % (small, "%.0f queries/s in all" % self.a.dash_poll_rate if self.a.dash_poll_rate > 0 else "without pause"), "files/s", self.w_small,
                  ["gw-http-polled", "gw-http-local"], [("gw-http-polled", "gw-http-local", 0.9)]))
        if "sshd" in T:
            P.append(("sftp-put-big", "%s upload to local disk over SFTP (OpenSSH's sftp -b)" % big, "MiB/s", self.w_sftp_put_big,
                      ["gw-sftp-local", "sshd"], [("gw-sftp-local", "sshd", 0.8)]))
            P.append(("sftp-get-big", "%s download from local disk over SFTP (OpenSSH's sftp -b)" % big, "MiB/s",
                      self.w_sftp_get_big, ["gw-sftp-local", "sshd"], [("gw-sftp-local", "sshd", 0.8)]))
            P.append(("sftp-small", "%s to local disk over SFTP (1 sftp session, put *)" % small, "files/s", self.w_sftp_small,
                      ["gw-sftp-local", "sshd"], [("gw-sftp-local", "sshd", 0.8)]))
        # rclone sends each of these files as one PutObject with an unsigned body: the gateway
        # the same way, through its second S3 backend (payload-signing: false). Run after the
        # mixed rows (LATE_ROWS): the second backend's client grows the gateway's RSS by about
        # 40 MiB, which the RSS of the rows before would otherwise carry.
        P.append(("par-s3u", "%s parallel uploads into S3, the gateway's bodies unsigned (payload-signing: false) as rclone "
                  "sends these files (until complete in the bucket)" % par, "MiB/s", self.w_put_par,
                  ["gw-http-s3u", "rclone-copy"], [("gw-http-s3u", "rclone-copy", 0.9)]))
        if "gw-http-pool" in T:
            P.append(("par-pool", "%s parallel uploads into a pool of 3 S3 servers vs into one (until complete)" % par,
                      "MiB/s", self.w_put_par, ["gw-http-pool", "gw-http-s3"], [("gw-http-pool", "gw-http-s3", None)]))
        return P

    def run_all(self):
        T = self.targets()
        P = self.plan(T)
        only = set(self.a.only.split(",")) if self.a.only else None
        P = [p for p in P if not only or p[0] in only]
        self.run_rows(T, [p for p in P if p[0] not in LATE_ROWS])
        self.run_mixed(T, only)
        self.run_rows(T, [p for p in P if p[0] in LATE_ROWS])
        self.run_idle(T, only)
        self.P, self.T = P, T

    def run_rows(self, T, P):
        for wid, title, unit, fn, systems, pairs in P:
            if fn == self.w_get_big:
                for s in systems:
                    self.prepare_download(T[s])
            if fn == self.w_sftp_get_big:
                for s in systems:
                    self.prepare_sftp_download(T[s])
            # Untimed rounds first, for every system alike: a server that has been up for
            # a while has its code compiled (the JVM's JIT) and its caches filled. Per-request
            # code needs more: on 2 cores the JIT's C2 compiler stays busy for about 30,000
            # small transfers, long after one round of large ones has compiled the data path.
            rounds = self.a.warmup
            if wid in ("small-local", "sftp-small", "dav-small", "dash-poll"):
                rounds = max(rounds, self.a.warmup_small)
            elif wid == "get-big-s3":
                rounds = max(rounds, self.a.warmup_s3_get)
            for _ in range(rounds):
                for s in systems:
                    w0 = time.monotonic()
                    fn(T[s], 0)
                    log("%-14s warm-up %-28s [%.1f s]" % (wid, T[s].name, time.monotonic() - w0))
            for r in range(1, self.a.runs + 1):
                # rotate the order in each run so no system always goes first
                order = systems[(r - 1) % len(systems):] + systems[:(r - 1) % len(systems)]
                for s in order:
                    w0 = time.monotonic()
                    res = fn(T[s], r)
                    res["wall"] = time.monotonic() - w0
                    self.results.setdefault((wid, s), []).append(res)
                    log("%-14s run %d %-30s %7.2f s (complete %7.2f s) rss %6.1f MiB  [%.1f s with checks]"
                        % (wid, r, T[s].name + ("" if not T[s].is_s3 else " [s3]"), res["seconds"], res["done_seconds"], res["rss_mib"], res["wall"]))
            self.clear_local([T[s] for s in systems])

    def clear_local(self, targets):
        """Deletes what a row left in the local folders of its systems: the work folder is a
        tmpfs, and a full run's leftovers (about 8 GiB by the S3 rows) count against the
        memory of the machine, where the kernel's OOM killer then picks the gateway."""
        for root in {t.local_root for t in targets if t.local_root is not None}:
            if root.is_dir():
                for child in root.iterdir():
                    if child.name == "idle.txt" or child.name.startswith("."):
                        continue  # nginx's idle file, and its folder for bodies (client_body_temp_path)
                    if child.is_dir() and not child.is_symlink():
                        shutil.rmtree(child, ignore_errors=True)
                    else:
                        child.unlink(missing_ok=True)
        self.collect_s3proxy()

    def collect_s3proxy(self):
        """Has every S3Proxy run a full GC. Its filesystem store leaves some of the files it
        reads (single PUTs, the parts of a completed multipart upload) to be closed by the
        garbage collector; with a 4 GiB heap that took rows, and a full run's replaced and
        deleted objects (679 files, about 8 GiB) stayed held in the tmpfs until memory ran out."""
        for p in getattr(self, "s3proxies", []):
            if p.poll() is None:
                subprocess.run(["jcmd", str(p.pid), "GC.run"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, timeout=60, check=False)

    def run_mixed(self, T, only):
        self.mixed_plan = []
        for wid, sys_pairs in (("mixed-local", [("gw-local", "gw-ftp-local", "gw-http-local"), ("peers-local", "vsftpd", "nginx")]),
                               ("mixed-s3", [("gw-s3", "gw-ftp-s3", "gw-http-s3"), ("peers-s3", "vsftpd-mount", "webdav")])):
            if only and wid not in only:
                continue
            self.mixed_plan.append((wid, sys_pairs))
            self.prepare_mixed([T[x] for _, f, h in sys_pairs for x in (f, h)])
            for r in range(0, self.a.runs + 1):   # run 0: the untimed warm-up
                for sid, f, h in sys_pairs if r % 2 else sys_pairs[::-1]:
                    res = self.w_mixed(T[f], T[h], r)
                    log("%-14s run %d %-24s %d transfers, %.1f MiB in %.2f s (until stored %.2f s), rss %6.1f MiB"
                        % (wid, r, sid, res["files"], res["bytes"] / MiB, res["seconds"], res["done_seconds"], res["rss_mib"]))
                    if r > 0:
                        self.results.setdefault((wid, sid), []).append(res)
            self.clear_local([T[x] for _, f, h in sys_pairs for x in (f, h)])

    def run_idle(self, T, only):
        if not only or "idle" in only:
            # a fresh gateway: its idle figure then shows what connections cost, not the
            # heap that the transfers before grew
            self.restart_gateway()
            T["gw-ftp-local"].roots = T["gw-http-local"].roots = [self.gw.pid]
            self.idle_plan = [("gw-idle", [T["gw-ftp-local"]], T["gw-ftp-local"], T["gw-http-local"], "/healthz"),
                              ("vsftpd-idle", [T["vsftpd"]], T["vsftpd"], None, None),
                              ("nginx-idle", [T["nginx"]], None, T["nginx"], "/idle.txt")]
            for r in range(1, self.a.runs + 1):
                for sid, ts, ftp_t, http_t, path in self.idle_plan:
                    res = self.w_idle(ts, ftp_t, http_t, path, r)
                    self.results.setdefault(("idle", sid), []).append(res)
                    log("idle           run %d %-24s %d connections in %.2f s, rss %6.1f MiB peak, %6.1f MiB held"
                        % (r, sid, res["files"], res["seconds"], res["rss_mib"], res["held_mib"]))

    # ---- report ------------------------------------------------------------------

    def report(self):
        T = self.T
        med = lambda xs: statistics.median(xs)

        def fig(wid, s, unit):
            rs = self.results[(wid, s)]
            secs = med([x["done_seconds"] for x in rs])
            csecs = med([x["seconds"] for x in rs])
            rss = med([x["rss_mib"] for x in rs])
            if unit == "files/s":
                v, cv = rs[0]["files"] / secs, rs[0]["files"] / csecs
            else:
                v, cv = rs[0]["bytes"] / MiB / secs, rs[0]["bytes"] / MiB / csecs
            return v, cv, rss

        def fmt(v, cv):
            s = "%.1f" % v
            if abs(cv - v) > 0.02 * v:
                s += " (client %.1f)" % cv
            return s

        lines = []
        lines.append("# Transfer Gateway benchmark: latest run")
        lines.append("")
        lines.append("- date: %s; %d run(s) per figure, medians, after %d untimed warm-up round(s) of each workload (%d of the small files, "
                     "%d of the download from S3) for every system; %s" % (
            time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), self.a.runs, self.a.warmup, max(self.a.warmup, self.a.warmup_small),
            max(self.a.warmup, self.a.warmup_s3_get),
            "QUICK mode (small sizes)" if self.quick else "full sizes"))
        lines.append("- machine: %d cores, %d MiB memory; loopback only; data in %s" % (
            os.cpu_count(), os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // MiB,
            "tmpfs" if self.on_tmpfs() else "page cache of a disk folder"))
        lines.append("- gateway JVM: `%s`; peers: %s" % (self.a.gateway_java_opts, self.versions()))
        if any(w in SFTP_WORKLOADS for w, *_ in self.P):
            lines.append("- SFTP: OpenSSH's sftp -b against both servers, cipher %s" % (
                self.a.sftp_cipher or "of the client's own choice among what each server offers (sshd: "
                "chacha20-poly1305@openssh.com; the gateway, which does not offer it: aes128-ctr)"))
        lines.append("- throughput into S3 counts until the object is complete in the bucket (HeadObject with the full size); "
                     "\"client\" is when the client saw success, where that differs by more than 2%.")
        lines.append("- peak RSS: the gateway and rclone are single processes (VmHWM, reset before each measurement; for "
                     "`rclone copy` the client's own max RSS); vsftpd and nginx are trees of processes (peak of their summed PSS). "
                     "S3Proxy, the shared S3 service, is counted for nobody.")
        lines.append("- ratio = gateway / peer throughput (higher is better for the gateway).")
        lines.append("")
        lines.append("| workload | gateway | gateway %s | gateway peak RSS MiB | peer | peer %s | peer peak RSS MiB | ratio | target | met |"
                     % ("throughput", "throughput"))
        lines.append("| --- | --- | ---: | ---: | --- | ---: | ---: | ---: | --- | --- |")
        verdicts = []
        for wid, title, unit, fn, systems, pairs in self.P:
            for g, p, target in pairs:
                gv, gcv, grss = fig(wid, g, unit)
                pv, pcv, prss = fig(wid, p, unit)
                ratio = gv / pv
                met = "" if target is None else ("yes" if ratio >= target else "**no**")
                if target is not None:
                    verdicts.append((title, T[g].name, T[p].name, ratio, target, ratio >= target))
                lines.append("| %s | %s | %s %s | %.0f | %s | %s %s | %.0f | %.2fx | %s | %s |" % (
                    title, T[g].name, fmt(gv, gcv), unit, grss, T[p].name, fmt(pv, pcv), unit, prss, ratio,
                    "" if target is None else ">= %.1fx" % target, met))
        if ("idle", "gw-idle") in self.results:
            lines.append("")
            lines.append("Idle connections (%d FTP sessions logged in + %d HTTP keep-alive connections, each after one request):"
                         % (self.idle_n, self.idle_n))
            lines.append("")
            lines.append("| system | connections held | peak RSS MiB | RSS MiB while held | seconds to open them | target | met |")
            lines.append("| --- | ---: | ---: | ---: | ---: | --- | --- |")
            I = lambda sid, k: med([x[k] for x in self.results[("idle", sid)]])
            g = I("gw-idle", "rss_mib")
            lines.append("| gateway (FTP + HTTP, one process) | %d | %.0f | %.0f | %.1f | < 512 MiB | %s |" % (
                2 * self.idle_n, g, I("gw-idle", "held_mib"), I("gw-idle", "seconds"), "yes" if g < 512 else "**no**"))
            for sid, name in (("vsftpd-idle", "vsftpd (FTP)"), ("nginx-idle", "nginx (HTTP)")):
                lines.append("| %s | %d | %.0f | %.0f | %.1f | | |" % (name, self.idle_n, I(sid, "rss_mib"), I(sid, "held_mib"), I(sid, "seconds")))
            lines.append("| vsftpd + nginx together | %d | %.0f | %.0f | | | |" % (
                2 * self.idle_n, I("vsftpd-idle", "rss_mib") + I("nginx-idle", "rss_mib"),
                I("vsftpd-idle", "held_mib") + I("nginx-idle", "held_mib")))
            verdicts.append(("idle connections", "gateway", "peak RSS %.0f MiB" % g, None, 512, g < 512))
        for wid, sys_pairs in getattr(self, "mixed_plan", []):
            where = "local disk" if wid == "mixed-local" else "S3 (S3Proxy)"
            lines.append("")
            lines.append("Mixed workload into %s: %d clients (half FTP, half HTTP keep-alive), each for %d s up- or "
                         "downloading (even odds) 64 KiB, 1 MiB or 64 MiB files (weights 70/25/5); throughput counts "
                         "until the last upload is stored; latency per request, all runs pooled:"
                         % (where, self.mixed_clients, self.mixed_seconds))
            lines.append("")
            lines.append("| system | MiB/s | requests/s | p50 / p99 ms 64 KiB | p50 / p99 ms 1 MiB | p50 / p99 ms 64 MiB | peak RSS MiB |")
            lines.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
            names = {"gw-local": "gateway (FTP + HTTP)", "peers-local": "vsftpd (FTP) + nginx (HTTP)",
                     "gw-s3": "gateway (FTP + HTTP)", "peers-s3": "vsftpd on rclone mount (FTP) + rclone serve webdav (HTTP)"}
            tput = {}
            for sid, _, _ in sys_pairs:
                rs = self.results[(wid, sid)]
                mibs = med([x["bytes"] / MiB / x["done_seconds"] for x in rs])
                reqs = med([x["files"] / x["done_seconds"] for x in rs])
                tput[sid] = mibs
                cells = []
                for label in ("64KiB", "1MiB", "64MiB"):
                    lat = sorted(o[4] for x in rs for o in x["ops"] if o[2] == label)
                    if lat:
                        pct = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] * 1000
                        cells.append("%.0f / %.0f" % (pct(0.5), pct(0.99)))
                    else:
                        cells.append("-")
                lines.append("| %s | %.1f | %.1f | %s | %.0f |" % (names[sid], mibs, reqs, " | ".join(cells),
                                                                    med([x["rss_mib"] for x in rs])))
            g, p = sys_pairs[0][0], sys_pairs[1][0]
            lines.append("")
            lines.append("Ratio gateway / peers (throughput): %.2fx." % (tput[g] / tput[p]))
        par_rss = []
        for wid in ("par-local", "par-s3", "par-s3u", "par-pool"):
            for s in ("gw-ftp-local", "gw-http-local", "gw-http-s3", "gw-http-s3u", "gw-ftp-s3", "gw-http-pool"):
                if (wid, s) in self.results:
                    par_rss.append((wid, s, med([x["rss_mib"] for x in self.results[(wid, s)]])))
        if par_rss:
            worst = max(par_rss, key=lambda x: x[2])
            lines.append("")
            lines.append("Gateway peak RSS in the 16-parallel runs: %s (target < 512 MiB: %s)." % (
                ", ".join("%s %s %.0f MiB" % (w, T[s].name + ("" if T[s].pool else " S3" if T[s].is_s3 else " local"), v)
                          for w, s, v in par_rss),
                "met" if worst[2] < 512 else "**missed**"))
            verdicts.append(("16 parallel uploads", "gateway", "peak RSS %.0f MiB" % worst[2], None, 512, worst[2] < 512))
        lines.append("")
        lines.append("Targets: %d of %d met." % (sum(1 for v in verdicts if v[5]), len(verdicts)))
        for title, g, p, ratio, target, ok in verdicts:
            if ratio is None:
                lines.append("- %s: %s %s, target < %d MiB: %s" % (title, g, p, target, "met" if ok else "MISSED"))
            else:
                lines.append("- %s: %s / %s = %.2fx, target >= %.1fx: %s" % (title, g, p, ratio, target, "met" if ok else "MISSED"))
        lines.append("")
        lines.append("All runs (seconds until complete; client-seen in parentheses where it differs):")
        lines.append("")
        lines.append("```")
        for (wid, s), rs in sorted(self.results.items()):
            name = T[s].name + (" [s3]" if s in T and T[s].is_s3 else "") if s in T else s
            lines.append("%-14s %-30s %s   rss %s" % (wid, name,
                         "  ".join("%.2f" % x["done_seconds"] + ("(%.2f)" % x["seconds"] if abs(x["seconds"] - x["done_seconds"]) > 0.01 else "") for x in rs),
                         " ".join("%.0f" % x["rss_mib"] for x in rs)))
        lines.append("```")
        text = "\n".join(lines) + "\n"
        out = Path(self.a.results)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
        print(text)

    def on_tmpfs(self):
        try:
            out = subprocess.run(["stat", "-f", "-c", "%T", str(self.work)], capture_output=True, text=True).stdout
            return "tmpfs" in out
        except OSError:
            return False

    def versions(self):
        def first(argv, pat):
            try:
                r = subprocess.run(argv, capture_output=True, text=True, timeout=10, stdin=subprocess.DEVNULL)
                m = re.search(pat, r.stdout + r.stderr)
                return m.group(1) if m else "?"
            except Exception:
                return "?"
        pkg = lambda n: first(["dpkg-query", "-W", "-f", "${Version}", n], r"(\S+)")
        return "vsftpd %s, nginx %s, rclone %s, curl %s, lftp %s, OpenSSH %s (sshd and the sftp client), S3Proxy 2.6.0 (filesystem provider)" % (
            pkg("vsftpd"), pkg("nginx"), pkg("rclone"), pkg("curl"), pkg("lftp"), pkg("openssh-server"))


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="1 run, small sizes: to try the harness out")
    ap.add_argument("--runs", type=int)
    ap.add_argument("--warmup", type=int, default=1, help="untimed rounds of each workload before the timed runs")
    ap.add_argument("--warmup-small", type=int, default=6, help="untimed rounds of the small-files workload")
    ap.add_argument("--warmup-s3-get", type=int, default=4, help="untimed rounds of the download from S3")
    ap.add_argument("--only", help="comma-separated workloads: put-big-local,small-local,par-local,get-big-local,"
                                   "dav-put-big,dav-small,put-big-azure,par-azure,put-big-s3,par-s3,par-s3u,get-big-s3,append-s3,par-pool,dash-poll,sftp-put-big,sftp-get-big,"
                                   "sftp-small,mixed-local,mixed-s3,idle")
    ap.add_argument("--dash-poll-rate", type=float, default=200.0,
                    help="dash-poll: dashboard queries a second, all 4 clients together (0: as fast as they can)")
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--azurite-dir", required=True,
                    help="Azurite's folder: on disk, not in a tmpfs (it keeps deleted blobs' bytes for minutes)")
    ap.add_argument("--jar", required=True)
    ap.add_argument("--s3proxy-classpath", required=True, help="file holding S3Proxy's classpath")
    ap.add_argument("--gateway-java-opts", default="-Xmx256m")
    ap.add_argument("--gateway-s3-checksums", default="when-required",
                    help="the S3 backend's checksums key; S3Proxy rejects the SDK's default (when-supported)")
    ap.add_argument("--gateway-ledger-url", help="the gateway's ledger.url (default: embedded, in its data directory)")
    ap.add_argument("--sftp-cipher", help="the sftp client's cipher for both SFTP servers (default: its own first choice, "
                                          "chacha20-poly1305@openssh.com)")
    ap.add_argument("--results", required=True)
    a = ap.parse_args()
    if a.runs is None:
        a.runs = 1 if a.quick else 3
    if a.quick:
        # a quick try never replaces the committed figures
        a.results = str(Path(a.results).with_name("quick.md"))
    global SFTP_CIPHER
    SFTP_CIPHER = a.sftp_cipher
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    b = Bench(a)

    def on_signal(sig, frame):
        raise KeyboardInterrupt()
    signal.signal(signal.SIGTERM, on_signal)
    try:
        b.setup()
        b.run_all()
        b.report()
        return 0
    except BenchError as e:
        log("FAILED: %s" % e)
        return 1
    except KeyboardInterrupt:
        log("interrupted")
        return 130
    finally:
        log("stopping every process the bench started")
        b.procs.stop_all()


if __name__ == "__main__":
    sys.exit(main())
