"""Test attack tool: sends hostile bytes to a Unix socket and says what came back.

  rawSocketProbe.py SOCKET garbage|oversize|unknown-procedure|truncated|hold [CONNECTED]

CONNECTED, if given, is a file made once the socket is connected (a test waits for it).

Prints one JSON line: how many bytes came back (an RPC error reply), or that the peer closed.
"""
import json
import os
import socket
import struct
import sys

path, case = sys.argv[1], sys.argv[2]


def record(body):
    return struct.pack(">I", 0x80000000 | len(body)) + body


def call_header(prog, vers, proc):
    # xid, CALL, RPC version 2, program, version, procedure, AUTH_NONE credentials and verifier
    return struct.pack(">IIIIIIIIII", 7, 0, 2, prog, vers, proc, 0, 0, 0, 0)


s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(path)
if len(sys.argv) > 3:
    open(sys.argv[3], "w").close()
s.settimeout(25 if case == "hold" else 10)
sent = 0
try:
    if case == "garbage":
        data = record(os.urandom(64))
    elif case == "unknown-procedure":
        data = record(call_header(0x2D2D2D2D, 1, 9999))
    elif case == "truncated":
        data = record(call_header(4, 4, 2)[:30])
    elif case == "hold":
        # A well-formed connection kept open: whatever the proxy does with it, say when it ends.
        data = b""
    elif case == "oversize":
        # A record that says it is 2 GiB long, then up to 1 GiB of it.
        data = struct.pack(">I", 0x7FFFFFFF)
        s.sendall(data)
        chunk = b"\0" * (1 << 20)
        for _ in range(1024):
            s.sendall(chunk)
            sent += len(chunk)
        data = b""
    s.sendall(data)
    reply = s.recv(65536)
    print(json.dumps({"sent": sent, "reply": len(reply), "closed": len(reply) == 0}))
except (BrokenPipeError, ConnectionResetError):
    print(json.dumps({"sent": sent, "reply": 0, "closed": True}))
except socket.timeout:
    print(json.dumps({"sent": sent, "timeout": True}))
