"""Test attack tool: sends hostile bytes to a Unix socket and says what came back.

  rawSocketProbe.py SOCKET garbage|oversize|unknown-procedure|truncated|hold [CONNECTED]
  rawSocketProbe.py SOCKET uninitialised     Caml Crush's calls with C_Initialize left out: the
                                             module named, then C_GetSlotList and C_Finalize

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


def exchange(proc, args):
    """One call of Caml Crush's program (4, version 3); its reply's results (after the accepted-reply header)."""
    s.sendall(record(call_header(4, 3, proc) + args))
    reply = b""
    while True:
        while len(reply) < 4:
            reply += s.recv(65536)
        length = struct.unpack(">I", reply[:4])[0] & 0x7FFFFFFF
        while len(reply) < 4 + length:
            reply += s.recv(65536)
        return reply[4 + 24 : 4 + length]


def hyper(value):
    return struct.pack(">q", value)


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
    elif case == "uninitialised":
        # What a cage may send without its client library: C_SetupArch (64-bit little-endian),
        # C_LoadModule of the proxy's alias, then calls a module refuses before C_Initialize.
        exchange(2, hyper(1))
        alias = b"cloison"
        exchange(70, struct.pack(">I", len(alias)) + alias + b"\0" * (-len(alias) % 4))
        slots = exchange(4, hyper(1) + hyper(0))
        finalize = exchange(13, b"")
        print(json.dumps({"getSlotList": struct.unpack(">q", slots[:8])[0], "finalize": struct.unpack(">q", finalize[:8])[0]}))
        sys.exit(0)
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
