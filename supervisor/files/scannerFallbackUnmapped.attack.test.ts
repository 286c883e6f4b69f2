/**
 * Attack (attack-10, after left-9's one-process fallback): where no control group holds the scan,
 * the scanner is one process under prlimit's RLIMIT_AS (1 GiB), its filter refusing new processes
 * (scannerFallbackTotal.attack.test.ts). But RLIMIT_AS bounds what a process has mapped, not what
 * it holds: memory the kernel keeps for it outside its address space is counted nowhere there.
 * A document that takes the scanner over keeps its own 1 GiB mapped and holds more, unmapped:
 *  - a memfd written to (memfd_create, then write(): shmem pages, never mapped);
 *  - System V shared memory touched and detached (shmget, shmat, touch, shmdt: the segment stays);
 *  - socket buffers: socketpairs whose send buffer is raised to net.core.wmem_max (4 MiB here),
 *    filled and left unread — as many as RLIMIT_NOFILE (inherited: 20000 here) allows;
 *  - System V message queues (kernel.msgmni queues of msgmnb bytes);
 *  - TCP connections on the sandbox's own loopback, filled both ways and left unread (their
 *    buffers grow on their own: 3.7 MiB a direction here), as many as RLIMIT_NOFILE allows;
 *  - pipes raised to fs.pipe-max-size (1 MiB) and filled, until the uid's pipe-user-pages-soft;
 *  - System V semaphore sets (kernel.sem: 32000 sets of 32000, about 3 MiB of kernel memory a set
 *    seen from MemAvailable; counted here at 64 bytes a semaphore, a floor).
 * Each is held until the scan ends (120 s) — the host's memory, until the OOM killer picks a
 * victim (a level's application, the shell).
 *
 * Here the stand-in for the taken-over scanner (Python) tries each way in turn up to HELD_CAP
 * (freed before the next: the shared machine never holds more than one cap at once) and says how
 * much each held. The control: the stand-in runs and is heard, and maps 900 MiB itself.
 *
 * What the host should get: the scan's memory bounded as a whole by the scanner's 1 GiB; at most a
 * few MiB of kernel buffers beside its address space (UNMAPPED_ALLOWANCE).
 *
 * Seen against the code before the fix (load 9.6): memfd=600 shm=640 sockets=600 msg=500 tcp=600
 * (MiB, each way stopped at its 600 MiB cap but the queues, at kernel.msgmni); semaphores, tried
 * after the first fix, sem=600. After: those refused (EPERM), sockets at their default buffers
 * 6 MiB and pipes 30 MiB, bounded by the sandbox's RLIMIT_NOFILE (64 files); with F_SETPIPE_SZ
 * refused too (pipe-max-size is the administrator's), pipes 1 MiB.
 */
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { removeTestRoots, testRoot } from '../testing/testRoots';
import { scanStaged } from './scannerSandbox';

const root = process.getuid?.() === 0;
const MiB = 2 ** 20;
/** Each way stops there: far enough past nothing to be the attack, little on a shared machine. */
const HELD_CAP = 600 * MiB;
/** Kernel buffers a scanner holds anyway (a few sockets, pipes): what the bound may leave beside its 1 GiB. */
const UNMAPPED_ALLOWANCE = 64 * MiB;

const TAKEN_OVER = `
import ctypes, errno, fcntl, mmap, os, socket, struct
CAP = ${HELD_CAP}
CHUNK = 4 * 1024 * 1024
own = 'held' if mmap.mmap(-1, 900 * 1024 * 1024) else 'refused'
said = {}

def memfd():
    held = 0
    try:
        fd = os.memfd_create('held')
    except OSError as e:
        said['memfd'] = os.strerror(e.errno)
        return 0
    block = b'x' * CHUNK
    try:
        while held < CAP:
            held += os.write(fd, block)
    except OSError as e:
        said['memfd'] = os.strerror(e.errno)
    os.close(fd)
    return held

libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
libc.shmdt.argtypes = [ctypes.c_void_p]
libc.shmctl.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_void_p]
def sysv_shm():
    held, ids = 0, []
    seg = 64 * 1024 * 1024
    while held < CAP:
        i = libc.shmget(0, seg, 0o1600)
        if i < 0:
            said['shm'] = os.strerror(ctypes.get_errno())
            break
        ids.append(i)
        at = libc.shmat(i, None, 0)
        if at is None or at == ctypes.c_void_p(-1).value:
            said['shm'] = os.strerror(ctypes.get_errno())
            break
        ctypes.memset(at, 1, seg)
        libc.shmdt(at)
        held += seg
    for i in ids:
        libc.shmctl(i, 0, None)  # IPC_RMID
    return held

def socket_buffers():
    held, pairs = 0, []
    block = b'x' * 65536
    while held < CAP:
        try:
            a, b = socket.socketpair()
        except OSError as e:
            said['sockets'] = os.strerror(e.errno)
            break
        pairs.append((a, b))
        try:
            a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 * 1024 * 1024)
        except OSError as e:
            said['sockets'] = 'SO_SNDBUF ' + os.strerror(e.errno)
        a.setblocking(False)
        try:
            while held < CAP:
                held += a.send(block)
        except BlockingIOError:
            pass
    for a, b in pairs:
        a.close()
        b.close()
    return held

def tcp_loopback():
    # The sandbox's own loopback (no network): each connection's buffers grow on their own.
    held, conns = 0, []
    block = b'x' * 65536
    try:
        l = socket.socket()
        l.bind(('127.0.0.1', 0))
        l.listen(64)
    except OSError as e:
        said['tcp'] = os.strerror(e.errno)
        return 0
    conns.append((l,))
    while held < CAP:
        try:
            c = socket.create_connection(l.getsockname())
            s, _ = l.accept()
        except OSError as e:
            said['tcp'] = os.strerror(e.errno)
            break
        conns.append((c, s))
        for end in (c, s):
            end.setblocking(False)
            try:
                while held < CAP:
                    held += end.send(block)
            except BlockingIOError:
                pass
    for ends in conns:
        for e in ends:
            e.close()
    return held

libc.semctl.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
def sysv_sem():
    # Each set of 32000 semaphores: at least 64 bytes of kernel memory a semaphore (3 MiB a set seen).
    held, ids = 0, []
    while held < CAP:
        i = libc.semget(0, 32000, 0o1600)
        if i < 0:
            said['sem'] = os.strerror(ctypes.get_errno())
            break
        ids.append(i)
        held += 32000 * 64
    for i in ids:
        libc.semctl(i, 0, 0)  # IPC_RMID
    return held

def pipes():
    held, ends = 0, []
    block = b'x' * 65536
    while held < CAP:
        try:
            r, w = os.pipe()
        except OSError as e:
            said['pipes'] = os.strerror(e.errno)
            break
        ends += [r, w]
        try:
            fcntl.fcntl(w, 1031, 1024 * 1024)  # F_SETPIPE_SZ to fs.pipe-max-size
        except OSError:
            pass
        os.set_blocking(w, False)
        try:
            while held < CAP:
                held += os.write(w, block)
        except BlockingIOError:
            pass
    for e in ends:
        os.close(e)
    return held

libc.msgsnd.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
def sysv_msg():
    held, ids = 0, []
    size = 8192
    buf = ctypes.create_string_buffer(struct.pack('l', 1) + b'x' * size)
    while held < CAP:
        q = libc.msgget(0, 0o1600)
        if q < 0:
            said['msg'] = os.strerror(ctypes.get_errno())
            break
        ids.append(q)
        while held < CAP and libc.msgsnd(q, buf, size, 0o4000) == 0:  # IPC_NOWAIT
            held += size
        if ctypes.get_errno() not in (0, errno.EAGAIN):
            said['msg'] = os.strerror(ctypes.get_errno())
            break
    for q in ids:
        libc.msgctl(q, 0, None)  # IPC_RMID
    return held

got = {k: f() // (1024 * 1024) for k, f in [('memfd', memfd), ('shm', sysv_shm), ('sockets', socket_buffers), ('msg', sysv_msg), ('tcp', tcp_loopback), ('pipes', pipes), ('sem', sysv_sem)]}
print('own %s unmapped %s said %s' % (own, ' '.join('%s=%d' % kv for kv in got.items()), said), flush=True)
`;

describe.skipIf(!root)('a scanner taken over by the document it scans, one process where no control group can be made', () => {
  afterAll(() => removeTestRoots());

  it("holds no memory beside its 1 GiB address space (memfd, System V shared memory and queues, socket buffers, loopback TCP, semaphores)", async () => {
    const dir = testRoot('cloison-attack10-sfu-');
    chmodSync(dir, 0o755);
    const staged = join(dir, 'report.pdf');
    writeFileSync(staged, '%PDF-1.7 a document made to take the scanner over', { mode: 0o644 });
    const verdict = await scanStaged(staged, ['/usr/bin/python3', '-c', TAKEN_OVER], [], 90_000, false, { noGroup: true, ownGroupBounds: false });
    console.log(`the taken-over scanner said: ${verdict.said}`);
    const seen = /own (\w+) unmapped memfd=(\d+) shm=(\d+) sockets=(\d+) msg=(\d+) tcp=(\d+) pipes=(\d+) sem=(\d+)/.exec(verdict.said);
    expect(seen, 'the stand-in ran and was heard').not.toBeNull();
    const [, own, memfd, shm, sockets, msg, tcp, pipes, sem] = seen!;
    expect(own, 'the stand-in maps 900 MiB itself: the per-process bound is 1 GiB').toBe('held');
    const held = { memfd: Number(memfd) * MiB, shm: Number(shm) * MiB, sockets: Number(sockets) * MiB, msg: Number(msg) * MiB, tcp: Number(tcp) * MiB, pipes: Number(pipes) * MiB, sem: Number(sem) * MiB };
    // The attack: each way holds memory beside the scanner's mapped 1 GiB, counted by no bound.
    const beyond = Object.entries(held).filter(([, bytes]) => bytes > UNMAPPED_ALLOWANCE).map(([way, bytes]) => `${way}: ${bytes / MiB} MiB`);
    expect(beyond, 'ways holding more than the allowance beside the scanner\'s address space').toEqual([]);
  }, 120_000);

  it('a scanner that neither forks nor holds memory beside its own still judges there (Python reading the file)', async () => {
    const dir = testRoot('cloison-attack10-sfc-');
    chmodSync(dir, 0o755);
    const staged = join(dir, 'clean.txt');
    writeFileSync(staged, 'du texte ordinaire\n', { mode: 0o644 });
    const scanner = ['/usr/bin/python3', '-c', "import sys; sys.exit(b'MARQUEUR' in open(sys.argv[1], 'rb').read())"];
    await expect(scanStaged(staged, scanner, [], 60_000, false, { noGroup: true, ownGroupBounds: false })).resolves.toMatchObject({ clean: true });
    writeFileSync(staged, 'un MARQUEUR\n');
    await expect(scanStaged(staged, scanner, [], 60_000, false, { noGroup: true, ownGroupBounds: false })).resolves.toMatchObject({ clean: false });
  }, 120_000);
});
