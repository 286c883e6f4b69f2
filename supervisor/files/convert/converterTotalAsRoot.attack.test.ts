/**
 * Attack (attack-10, beside left-9's scanner fallback): the supervisor in one piece (root,
 * `--single`) gives a conversion no control group (conversionGroup: "none as root"); its sandbox is
 * held by prlimit alone — the policy's memory as each renderer's address space and largest file,
 * and its tasks (RLIMIT_NPROC). A document that takes the renderer over (LibreOffice, pdftoppm: what
 * hostile documents are made for) then holds, at once:
 *  - files in the sandbox's /tmp (a tmpfs, 1777, sized half the RAM by default): each under the
 *    largest-file limit, as many as it likes — memory no address space counts;
 *  - children, each with the policy's memory as its own address space (RLIMIT_AS is a process's).
 * The host's memory then goes until the OOM killer picks a victim (a level's application, the shell).
 *
 * Here the renderer's place holds a stand-in (Python, under the renderer's own prlimit as
 * pixelHelper.mjs sets it) that writes 256 MiB files into /tmp up to TMP_CAP, then forks CHILDREN
 * children that each touch CHILD_BYTES, all alive at once, and says how far it got in its refusal's
 * detail (or is killed at a limit, which is the bound holding). The control: it ran and was heard.
 *
 * Seen on the code before the fix (load 15): tmp 1280 MiB and 10 children holding 900 MiB of address
 * space each (the first version reserved, not touched: 10.0 GiB at once).
 *
 * What the host should get: the conversion bounded as a whole by the policy's memory (1 GiB here),
 * as it is in the split's part (a group of its own).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { convertDocument, type ConvertLimits } from './documentConverter';

const root = process.getuid?.() === 0;
const GIB = 2 ** 30;
const LIMITS: ConvertLimits = { dpi: 150, maxPages: 5, maxPageSide: 10_000, memoryBytes: GIB, tasks: 64, secondsPerPage: 30, secondsToOpen: 60, thumbnails: 0, ocr: null };
/** Files stop there; then CHILDREN children touch CHILD_BYTES each: 1.75 GiB at once, past the policy's 1 GiB, little on a shared machine. */
const TMP_CAP = 0.75 * GIB;
const CHILDREN = 4;
const CHILD_BYTES = 256 * 2 ** 20;

const STAND_IN = `
import json, mmap, os, select, signal, sys, time
MiB = 1024 * 1024
tmp, said = 0, ''
block = b'x' * (4 * MiB)
n = 0
try:
    while tmp < ${TMP_CAP}:
        with open('/tmp/held-%d' % n, 'wb') as f:
            for _ in range(64):
                f.write(block)
                tmp += len(block)
        n += 1
except OSError as e:
    said = os.strerror(e.errno)
r, w = os.pipe()
kids = []
for i in range(${CHILDREN}):
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        try:
            m = mmap.mmap(-1, ${CHILD_BYTES})
            for at in range(0, ${CHILD_BYTES}, 4096):
                m[at] = 1
            os.write(w, b'h')
        except Exception:
            os.write(w, b'r')
        time.sleep(25)
        os._exit(0)
    kids.append(pid)
# A child killed at a limit never answers: wait for the others, not for ever.
got = b''
deadline = time.time() + 20
while len(got) < len(kids) and select.select([r], [], [], max(0, deadline - time.time()))[0]:
    got += os.read(r, 64)
for k in kids:
    try:
        os.kill(k, signal.SIGKILL)
    except OSError:
        pass
    os.waitpid(k, 0)
for i in range(n):
    os.unlink('/tmp/held-%d' % i)
sys.stderr.write(json.dumps({'refuse': 'unreadable', 'detail': 'tmp %d MiB (%s) children %d held %d' % (tmp // MiB, said or 'none refused', len(kids), got.count(b'h'))}) + '\\n')
sys.exit(3)
`;

describe.skipIf(!root)('a renderer taken over by the document it converts, the supervisor in one piece (root)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cloison-attack10-conv-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("is held to the policy's memory as a whole: its tmpfs files and its children's address spaces", async () => {
    const staged = join(dir, 'report.pdf');
    writeFileSync(staged, '%PDF-1.7 a document made to take the renderer over', { mode: 0o644 });
    const helper = () => ['prlimit', `--as=${LIMITS.memoryBytes}`, `--fsize=${LIMITS.memoryBytes}`, '--core=0', '--', '/usr/bin/python3', '-c', STAND_IN];
    const result = await convertDocument(staged, 'pdf', join(dir, 'out.pdf'), LIMITS, helper);
    const reason = result.ok ? '' : result.reason;
    console.log(`the taken-over renderer: ${JSON.stringify(result)}`);
    const seen = /tmp (\d+) MiB \(([^)]*)\) children (\d+) held (\d+)/.exec(reason);
    if (!seen) {
      // Killed at the group's limit before it could say: that is the bound holding.
      expect(result).toMatchObject({ ok: false, refusal: 'out-of-memory' });
      return;
    }
    const [, tmp, , , held] = seen;
    // What it held at once: its files, and the children's reservations (its own address space aside).
    expect(Number(tmp) * 2 ** 20 + Number(held) * CHILD_BYTES, 'bytes the conversion held at once').toBeLessThanOrEqual(LIMITS.memoryBytes);
  }, 120_000);
});
