#!/usr/bin/env python3
"""The mixed workload's clients: many FTP and HTTP clients at once, each uploading and
downloading files of mixed sizes for a fixed time, as a file gateway's users do all day.

Every client keeps one session (an FTP login, an HTTP keep-alive connection) and loops:
it draws a size (64 KiB, 1 MiB or 64 MiB, by the weights below) and a direction (up or
down, even odds) from a random generator seeded by its number, so that every system
sees the same sequence of requests. Uploads replace the client's own file of that size
under the run's folder (so the run stores at most 65 MiB per client); downloads read the
source files placed before (one per size and protocol). Answers are
checked (FTP 226, HTTP 200/201/204 with every byte); any other answer fails the run.

Prints one JSON object: the operations (protocol, direction, size label, bytes, seconds,
when it ended), what was
uploaded (for the caller's clean-up and checks) and the totals of bytes and files.
Run by bench.py (the `mixed-local` and `mixed-s3` rows); see bench/README.md.
"""
import argparse
import base64
import ftplib
import http.client
import json
import multiprocessing
import os
import random
import sys
import threading
import time

KiB, MiB = 1 << 10, 1 << 20
# (name, bytes, weight): most requests are small, most bytes are in the large files
SIZES = [("64KiB", 64 * KiB, 70), ("1MiB", 1 * MiB, 25), ("64MiB", 64 * MiB, 5)]


def source_name(label):
    return "src-%s.bin" % label


class FtpClient:
    def __init__(self, host, port, user, password, folder):
        self.f = ftplib.FTP()
        self.f.connect(host, port, timeout=300)
        self.f.login(user, password)
        self.f.set_pasv(True)
        self.f.voidcmd("TYPE I")
        self.folder = folder

    def put(self, name, data):
        conn = self.f.transfercmd("STOR %s/%s" % (self.folder, name))
        try:
            conn.sendall(data)
        finally:
            conn.close()
        reply = self.f.voidresp()
        if not reply.startswith("226"):
            raise RuntimeError("STOR %s answered %s" % (name, reply))

    def get(self, path, size, buf):
        conn = self.f.transfercmd("RETR %s" % path)
        got = 0
        try:
            while True:
                n = conn.recv_into(buf)
                if n == 0:
                    break
                got += n
        finally:
            conn.close()
        reply = self.f.voidresp()
        if not reply.startswith("226") or got != size:
            raise RuntimeError("RETR %s answered %s after %d of %d bytes" % (path, reply, got, size))

    def close(self):
        try:
            self.f.quit()
        except Exception:
            self.f.close()


class HttpClient:
    def __init__(self, host, port, prefix, user, password, folder):
        self.host, self.port, self.prefix, self.folder = host, port, prefix, folder
        self.headers = {}
        if user:
            self.headers["Authorization"] = "Basic " + base64.b64encode(("%s:%s" % (user, password)).encode()).decode()
        self.c = http.client.HTTPConnection(host, port, timeout=300)

    def put(self, name, data):
        h = dict(self.headers)
        h["Content-Length"] = str(len(data))
        self.c.request("PUT", "%s/%s/%s" % (self.prefix, self.folder, name), body=data, headers=h)
        r = self.c.getresponse()
        body = r.read()
        if r.status not in (200, 201, 204):
            raise RuntimeError("PUT %s answered %d: %s" % (name, r.status, body[:200]))

    def get(self, path, size, buf):
        self.c.request("GET", "%s/%s" % (self.prefix, path), headers=self.headers)
        r = self.c.getresponse()
        got = 0
        while True:
            n = r.readinto(buf)
            if not n:
                break
            got += n
        if r.status != 200 or got != size:
            raise RuntimeError("GET %s answered %d with %d of %d bytes" % (path, r.status, got, size))

    def close(self):
        self.c.close()


def client_loop(spec, number, deadline, start_at, data, ops, uploaded, errors):
    rng = random.Random(number)
    proto = spec["proto"]
    buf = bytearray(1 * MiB)
    view = memoryview(buf)
    try:
        if proto == "ftp":
            c = FtpClient(spec["host"], spec["port"], spec["user"], spec["password"], spec["folder"])
        else:
            c = HttpClient(spec["host"], spec["port"], spec["prefix"], spec["user"], spec["password"], spec["folder"])
    except Exception as e:
        errors.append("%s client %d: cannot connect: %s" % (proto, number, e))
        return
    k = 0
    try:
        while time.monotonic() < deadline:
            label, size, _ = rng.choices(SIZES, weights=[w for _, _, w in SIZES])[0]
            up = rng.random() < 0.5
            t0 = time.monotonic()
            if up:
                # one name per client and size: uploads replace, so what the run stores stays
                # bounded (50 clients x 65 MiB) however fast the server is
                name = "%s%d-%s.bin" % (proto, number, label)
                start = rng.randrange(0, len(data) - size + 1, 4096)
                c.put(name, data[start:start + size])
                uploaded.append((spec["folder"] + "/" + name, size))
            else:
                c.get(spec["sources"] + "/" + source_name(label), size, view)
            ops.append((proto, "up" if up else "down", label, size, time.monotonic() - t0, time.time() - start_at))
            k += 1
    except Exception as e:
        errors.append("%s client %d: %s" % (proto, number, e))
    finally:
        c.close()


def worker(specs, numbers, seconds, start_at, out_q):
    """One process: its share of the clients, as threads."""
    data = memoryview(os.urandom(max(s for _, s, _ in SIZES) + 4 * MiB))
    ops, uploaded, errors = [], [], []
    while time.time() < start_at:
        time.sleep(max(0.0, min(0.05, start_at - time.time())))
    deadline = time.monotonic() + seconds
    threads = [threading.Thread(target=client_loop, args=(specs[n % len(specs)], n, deadline, start_at, data, ops, uploaded, errors))
               for n in numbers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out_q.put(dict(ops=ops, uploaded=uploaded, errors=errors))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ftp", help="host:port:user:password of the FTP server")
    ap.add_argument("--http", help="host:port:prefix:user:password of the HTTP server (user may be empty)")
    ap.add_argument("--folder", required=True, help="the folder new uploads go to (made before)")
    ap.add_argument("--sources", required=True, help="the folder holding the source files to download")
    ap.add_argument("--clients", type=int, default=50, help="clients in all, shared evenly between FTP and HTTP")
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--processes", type=int, default=4, help="client processes (Python threads share one core each)")
    a = ap.parse_args()
    specs = []
    if a.ftp:
        h, p, u, pw = a.ftp.split(":", 3)
        specs.append(dict(proto="ftp", host=h, port=int(p), user=u, password=pw, folder=a.folder, sources=a.sources))
    if a.http:
        h, p, prefix, u, pw = a.http.split(":", 4)
        specs.append(dict(proto="http", host=h, port=int(p), prefix=prefix, user=u, password=pw, folder=a.folder,
                          sources=a.sources))
    if not specs:
        ap.error("give --ftp, --http or both")
    q = multiprocessing.Queue()
    start_at = time.time() + 2.0
    procs = []
    for i in range(a.processes):
        numbers = list(range(i, a.clients, a.processes))
        p = multiprocessing.Process(target=worker, args=(specs, numbers, a.seconds, start_at, q))
        p.start()
        procs.append(p)
    parts = [q.get() for _ in procs]
    for p in procs:
        p.join()
    ops = [o for part in parts for o in part["ops"]]
    # the files left: each path once (a replaced file keeps its size, that of its label)
    uploaded = sorted(dict(u for part in parts for u in part["uploaded"]).items())
    errors = [e for part in parts for e in part["errors"]]
    # until the last transfer ended: those under way at the deadline count in full
    elapsed = max([a.seconds] + [o[5] for o in ops])
    json.dump(dict(seconds=elapsed, ops=ops, uploaded=uploaded, errors=errors,
                   bytes=sum(o[3] for o in ops), files=len(ops)), sys.stdout)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
