#!/usr/bin/env python3
"""Holds idle client connections open for the memory benchmark.

FTP: connects, reads the greeting, logs in (USER/PASS -> 230) and stays idle.
HTTP: connects, sends one keep-alive GET, reads the whole answer (must be 200)
and keeps the connection open.

Prints "ready <ftp> <http>" once every connection is established, then holds them
until its standard input closes (or --hold seconds pass), and exits.
"""
import argparse
import asyncio
import resource
import sys


async def ftp_reply(reader):
    """Reads one (possibly multi-line) FTP reply; returns its code."""
    line = (await reader.readline()).decode("latin-1")
    if len(line) < 4:
        raise IOError("FTP connection closed: %r" % line)
    code = line[:3]
    if line[3] == "-":
        while True:
            nxt = (await reader.readline()).decode("latin-1")
            if not nxt:
                raise IOError("FTP connection closed in a multi-line reply")
            if nxt.startswith(code + " "):
                break
    return int(code)


async def open_ftp(host, port, user, password):
    reader, writer = await asyncio.open_connection(host, port)
    code = await ftp_reply(reader)
    if code != 220:
        raise IOError("FTP greeting %d" % code)
    writer.write(("USER %s\r\n" % user).encode())
    code = await ftp_reply(reader)
    if code == 331:
        writer.write(("PASS %s\r\n" % password).encode())
        code = await ftp_reply(reader)
    if code != 230:
        raise IOError("FTP login answered %d" % code)
    return reader, writer


async def open_http(host, port, path, auth):
    reader, writer = await asyncio.open_connection(host, port)
    req = "GET %s HTTP/1.1\r\nHost: %s:%d\r\nConnection: keep-alive\r\n" % (path, host, port)
    if auth:
        req += "Authorization: Basic %s\r\n" % auth
    writer.write((req + "\r\n").encode())
    status = (await reader.readline()).decode("latin-1")
    parts = status.split()
    if len(parts) < 2 or parts[1] != "200":
        raise IOError("HTTP answered %r" % status.strip())
    length = None
    chunked = False
    while True:
        h = (await reader.readline()).decode("latin-1").strip()
        if not h:
            break
        k, _, v = h.partition(":")
        if k.lower() == "content-length":
            length = int(v.strip())
        if k.lower() == "transfer-encoding" and "chunked" in v.lower():
            chunked = True
        if k.lower() == "connection" and v.strip().lower() == "close":
            raise IOError("the server closes the connection after one request")
    if chunked:
        while True:
            size = int((await reader.readline()).strip().split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    return reader, writer


async def open_many(factory, count, batch=50):
    conns = []
    for i in range(0, count, batch):
        n = min(batch, count - i)
        conns += await asyncio.gather(*(factory() for _ in range(n)))
    return conns


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--count", type=int, default=1000)
    p.add_argument("--ftp-port", type=int)
    p.add_argument("--ftp-user")
    p.add_argument("--ftp-password")
    p.add_argument("--http-port", type=int)
    p.add_argument("--http-path", default="/")
    p.add_argument("--http-auth", help="base64 user:password, optional")
    p.add_argument("--hold", type=float, default=120.0)
    a = p.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    ftp, http = [], []
    if a.ftp_port:
        ftp = await open_many(lambda: open_ftp(a.host, a.ftp_port, a.ftp_user, a.ftp_password), a.count)
    if a.http_port:
        http = await open_many(lambda: open_http(a.host, a.http_port, a.http_path, a.http_auth), a.count)
    print("ready %d %d" % (len(ftp), len(http)), flush=True)

    loop = asyncio.get_running_loop()
    stdin_closed = loop.run_in_executor(None, sys.stdin.read)
    try:
        await asyncio.wait_for(stdin_closed, a.hold)
    except asyncio.TimeoutError:
        pass
    # Still open? A server that dropped idle connections would show here.
    alive = sum(1 for r, w in ftp + http if not r.at_eof())
    for r, w in ftp + http:
        w.close()
    print("closed %d alive" % alive, flush=True)


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except Exception as e:  # one line, for the harness log
        print("idle: FAIL: %s" % e, file=sys.stderr)
        sys.exit(1)
