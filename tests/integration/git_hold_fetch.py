#!/usr/bin/env python3
"""Holds one git pack generation open for it_git_tiers: sends a protocol-v2
fetch of every ref of a repository through cellar on a socket with a tiny
receive buffer, reads a little, then stops reading until it gets a line on
stdin (so upload-pack stays blocked on a full pipe), and exits.
Usage: git_hold_fetch.py CELLAR_HOST:PORT PATH_PREFIX OID..."""
import socket
import sys


def pkt(s):
    b = s.encode()
    return b"%04x" % (len(b) + 4) + b


hostport, prefix, oids = sys.argv[1], sys.argv[2], sys.argv[3:]
host, port = hostport.rsplit(":", 1)
body = pkt("command=fetch\n") + b"0001" + pkt("ofs-delta\n")
for oid in oids:
    body += pkt("want %s\n" % oid)
body += pkt("done\n") + b"0000"
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect((host, int(port)))
s.sendall(("POST %s/git-upload-pack HTTP/1.1\r\nHost: %s\r\nGit-Protocol: version=2\r\n"
           "Content-Type: application/x-git-upload-pack-request\r\nContent-Length: %d\r\n\r\n"
           % (prefix, hostport, len(body))).encode() + body)
first = s.recv(2048)
print(first.split(b"\r\n", 1)[0].decode(), flush=True)
sys.stdin.readline()
s.close()
