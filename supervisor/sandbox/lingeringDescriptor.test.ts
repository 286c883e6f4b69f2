/**
 * A compromised part tries to freeze the root part through its channel (testing/lingeringSocketPart.ts):
 * a TCP socket with SO_LINGER {1, INT_MAX} and data it cannot send, attached as SCM_RIGHTS to what
 * it writes on its fd 3. When fd 3 was a Unix socketpair, the root part's plain read dropped the
 * descriptor, the kernel closed it in the root part's thread, and that close waited on the unsent
 * data: the root part's event loop stood still (seen: a 50 ms timer late by the attacker's whole
 * 5 s hold; with INT_MAX and no release, for ever). fd 3 is now a pipe, which carries no
 * descriptor: the send fails in the part (ENOTSOCK), the root part's timers keep their time. The
 * same on its stderr, which the root part now reads (partStderr.ts): a pipe too, not Node's
 * stdio 'pipe' (a socketpair, on which the attack froze the root part the same way).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { LingerRecord } from '../testing/lingeringSocketPart';
import { testRoot } from '../testing/testRoots';
import { waitFor } from '../testing/waitFor';
import { UnprivilegedPart } from './partProcess';
import { testPartDefinition, type TestPartMessage } from '../testing/testPartDefinition';

/** How long the attacker holds the close (with INT_MAX it could hold it for ever). */
const HOLD_MS = 5000;
const TICK_MS = 50;

type Msg = TestPartMessage;
const parts: Array<UnprivilegedPart<Msg, unknown>> = [];
afterAll(async () => {
  for (const part of parts) await part.stop();
});

describe.each([
  ['its channel', 3],
  ['its stderr', 2],
])('a part attaching a lingering socket to %s (fd %i)', (_, on) => {
  it('cannot freeze the root part\'s event loop', async () => {
    const root = testRoot('cloison-linger-');
    const record = join(root, 'record.json');
    const script = join(root, 'hostile.ts');
    writeFileSync(join(root, 'package.json'), '{ "type": "module" }');
    writeFileSync(script, `import { attackWithLingeringSocket } from '${new URL('../testing/lingeringSocketPart.ts', import.meta.url).href}';\nawait attackWithLingeringSocket(${JSON.stringify(record)}, { type: 'ready' }, ${HOLD_MS}, ${on});\n`);
    // The script restricts nothing: it stays root, under setpriv's bounds.
    const part = new UnprivilegedPart<Msg, unknown>(testPartDefinition(import.meta.url, 'lingering test part', script));
    parts.push(part);
    // The root part's event loop, measured: how late a 50 ms timer ever fires.
    let worstLateMs = 0;
    let last = performance.now();
    const tick = setInterval(() => {
      const now = performance.now();
      worstLateMs = Math.max(worstLateMs, now - last - TICK_MS);
      last = now;
    }, TICK_MS);
    try {
      await part.start();
      const read = (): LingerRecord | null => {
        try {
          return JSON.parse(readFileSync(record, 'utf8')) as LingerRecord;
        } catch {
          return null;
        }
      };
      await waitFor(() => read()?.attempt !== undefined, 'the attack made', 4 * (HOLD_MS + 5000));
      await waitFor(() => existsSync(`${record}.${read()!.attempt}.released`), 'the attacker to release its socket', HOLD_MS + 15_000);
      await new Promise((r) => setTimeout(r, 500));
      const done = read()!;
      console.log(`attack: ${JSON.stringify(done)}; the root part's worst timer delay: ${worstLateMs.toFixed(0)} ms`);
      expect(done.unsent).toBeGreaterThan(0); // the socket's close would have had to wait
      expect(done.onStream).toBe('ENOTSOCK');
      expect(worstLateMs).toBeLessThan(HOLD_MS / 2);
    } finally {
      clearInterval(tick);
    }
  }, 90_000);
});
