"""Test attack tool: PKCS#11 calls pkcs11-tool cannot make, run inside a cage against a module.

  pkcs11Probe.py MODULE initpin PIN NEWPIN   C_InitPIN in the user's own session
  pkcs11Probe.py MODULE handles PIN          C_SignInit on every object handle 1..256, hidden or not
  pkcs11Probe.py MODULE signs PIN N          N signatures in one session (the benchmark's), and the
                                             time from loading the module to C_Initialize done
  pkcs11Probe.py MODULE readsign PIN         reads the first secret key's CKA_VALUE, then signs in
                                             the same session (is the session still in step?)
  pkcs11Probe.py MODULE login PIN           C_Login with PIN ("-": a NULL PIN), then a signature;
                                             prints the token's flags too (C_GetTokenInfo)
  pkcs11Probe.py MODULE hold PIN READY GO    signs, prints, touches READY, waits for GO to exist,
                                             then signs again in the same logged-in session

Prints one JSON line: return values (never a PIN, never a signature).
"""
import ctypes
import json
import os
import sys
import time

U = ctypes.c_ulong
STARTED = time.perf_counter()
lib = ctypes.CDLL(sys.argv[1])


class Mechanism(ctypes.Structure):
    _fields_ = [("mechanism", U), ("parameter", ctypes.c_void_p), ("parameter_len", U)]


# CK_FUNCTION_LIST's order (PKCS#11 v2.40): p11-kit's client exports only C_GetFunctionList.
NAMES = """Initialize Finalize GetInfo GetFunctionList GetSlotList GetSlotInfo GetTokenInfo GetMechanismList
GetMechanismInfo InitToken InitPIN SetPIN OpenSession CloseSession CloseAllSessions GetSessionInfo
GetOperationState SetOperationState Login Logout CreateObject CopyObject DestroyObject GetObjectSize
GetAttributeValue SetAttributeValue FindObjectsInit FindObjects FindObjectsFinal EncryptInit Encrypt
EncryptUpdate EncryptFinal DecryptInit Decrypt DecryptUpdate DecryptFinal DigestInit Digest DigestUpdate
DigestKey DigestFinal SignInit Sign""".split()


class FunctionList(ctypes.Structure):
    _fields_ = [("version", ctypes.c_ubyte * 2)] + [("C_" + n, ctypes.c_void_p) for n in NAMES]


table = ctypes.POINTER(FunctionList)()
lib.C_GetFunctionList(ctypes.byref(table))


def call(name, *args):
    """Every argument is a ctypes value (c_ulong, bytes, None, byref, array): no int is passed as C int."""
    return ctypes.CFUNCTYPE(U)(getattr(table.contents, name))(*args)


OPENED = {}


def session(pin):
    rv = call("C_Initialize", None)
    # From loading the module to C_Initialize done: a proxy's client connects and opens here.
    OPENED["ms"] = (time.perf_counter() - STARTED) * 1000
    if rv != 0:
        return None, {"initialize": rv}
    count = U(0)
    call("C_GetSlotList", U(1), None, ctypes.byref(count))
    slots = (U * max(count.value, 1))()
    call("C_GetSlotList", U(1), slots, ctypes.byref(count))
    handle = U(0)
    rv = call("C_OpenSession", U(slots[0]), U(6), None, None, ctypes.byref(handle))  # RW | SERIAL
    if rv != 0:
        return None, {"open": rv}
    info = (ctypes.c_ubyte * 512)()
    call("C_GetTokenInfo", U(slots[0]), info)
    flags = U.from_buffer(info, 96).value  # CK_TOKEN_INFO: label, manufacturer, model, serial, then flags
    rv = call("C_Login", handle, U(1), pin, U(len(pin) if pin else 0))
    return handle, {"tokenFlags": flags, "login": rv}


class Attribute(ctypes.Structure):
    _fields_ = [("type", U), ("value", ctypes.c_void_p), ("value_len", U)]


def private_key(handle, object_class=3):
    """The first private key (or other class) the session sees (CKA_CLASS = CKO_PRIVATE_KEY)."""
    klass = U(object_class)
    template = (Attribute * 1)(Attribute(0, ctypes.cast(ctypes.byref(klass), ctypes.c_void_p), ctypes.sizeof(klass)))
    found = (U * 1)()
    count = U(0)
    call("C_FindObjectsInit", handle, template, U(1))
    call("C_FindObjects", handle, found, U(1), ctypes.byref(count))
    call("C_FindObjectsFinal", handle)
    return found[0] if count.value else None


def main():
    action, pin = sys.argv[2], (None if sys.argv[3] == "-" else sys.argv[3].encode())
    handle, out = session(pin)
    if handle is not None and action == "initpin":
        new = sys.argv[4].encode()
        out["initpin"] = call("C_InitPIN", handle, new, U(len(new)))
        return print(json.dumps(out))
    if handle is not None:
        # An ordinary search first: some modules (SoftHSM2) hand out handles only for what was searched.
        found = (U * 64)()
        count = U(0)
        call("C_FindObjectsInit", handle, None, U(0))
        call("C_FindObjects", handle, found, U(64), ctypes.byref(count))
        call("C_FindObjectsFinal", handle)
        out["found"] = count.value
    if handle is not None and action == "handles":
        mech = Mechanism(0x40, None, 0)  # CKM_SHA256_RSA_PKCS
        signable = []
        for h in range(1, 257):
            if call("C_SignInit", handle, ctypes.byref(mech), U(h)) == 0:
                signable.append(h)
                sig = (ctypes.c_ubyte * 1024)()
                size = U(1024)
                call("C_Sign", handle, b"probe", U(5), sig, ctypes.byref(size))
        out["signable"] = signable
    elif handle is not None and action == "readsign":
        secret = private_key(handle, 4)  # CKO_SECRET_KEY
        value = (ctypes.c_ubyte * 256)()
        template = (Attribute * 1)(Attribute(0x11, ctypes.cast(value, ctypes.c_void_p), 256))  # CKA_VALUE
        out["value"] = call("C_GetAttributeValue", handle, U(secret or 0), template, U(1))
        out["valueLength"] = template[0].value_len if out["value"] == 0 else 0
        mech = Mechanism(0x40, None, 0)
        out["signInit"] = call("C_SignInit", handle, ctypes.byref(mech), U(private_key(handle) or 0))
        sig = (ctypes.c_ubyte * 1024)()
        size = U(1024)
        out["sign"] = call("C_Sign", handle, b"probe", U(5), sig, ctypes.byref(size))
        out["signatureBytes"] = size.value
    elif handle is not None and action == "login":
        mech = Mechanism(0x40, None, 0)
        out["signInit"] = call("C_SignInit", handle, ctypes.byref(mech), U(private_key(handle) or 0))
        sig = (ctypes.c_ubyte * 1024)()
        size = U(1024)
        out["sign"] = call("C_Sign", handle, b"probe", U(5), sig, ctypes.byref(size)) if out["signInit"] == 0 else out["signInit"]
    elif handle is not None and action == "hold":
        # An application that stays logged in: one signature, then another once told to (the card
        # pulled meanwhile, or not). Each result is printed as it comes: the process may not survive.
        mech = Mechanism(0x40, None, 0)
        key = private_key(handle)
        call("C_SignInit", handle, ctypes.byref(mech), U(key or 0))
        sig = (ctypes.c_ubyte * 1024)()
        size = U(1024)
        out["first"] = call("C_Sign", handle, b"probe", U(5), sig, ctypes.byref(size))
        print(json.dumps(out), flush=True)
        open(sys.argv[4], "w").close()
        for _ in range(600):
            if os.path.exists(sys.argv[5]):
                break
            time.sleep(0.1)
        rv = call("C_SignInit", handle, ctypes.byref(mech), U(key or 0))
        size = U(1024)
        out["after"] = call("C_Sign", handle, b"probe", U(5), sig, ctypes.byref(size)) if rv == 0 else rv
    elif handle is not None and action == "signs":
        # Signatures in one logged-in session with the first key that signs: milliseconds each.
        # Signs, not only C_SignInit: SoftHSM2 takes SHA256-RSA-PKCS's C_SignInit on its AES key,
        # then fails C_Sign at once (CKR_GENERAL_ERROR) — no signature to time.
        mech = Mechanism(0x40, None, 0)
        sig = (ctypes.c_ubyte * 1024)()

        def sign(key):
            rv = call("C_SignInit", handle, ctypes.byref(mech), U(key))
            size = U(1024)
            return rv if rv != 0 else call("C_Sign", handle, b"probe", U(5), sig, ctypes.byref(size))

        key = next((h for h in range(1, 257) if sign(h) == 0), None)
        count = int(sys.argv[4])
        start = time.perf_counter()
        failed = sum(1 for _ in range(count) if key is None or sign(key) != 0)
        out["perSignMs"] = (time.perf_counter() - start) * 1000 / count
        out["signFailures"] = failed
        out["openMs"] = OPENED["ms"]
    print(json.dumps(out))


main()
