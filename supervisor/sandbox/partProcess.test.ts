/**
 * UnprivilegedPart's start and restart against a small scripted part (a real process on the real
 * channel): a throw while starting (the part's folder it cannot clean, its start it cannot build)
 * is a failed start, never an exception out of the restart's timer; a part that said `failed` is
 * killed, and what it says or does after that acts on nothing.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sakKey } from '../../shared/keysyms';
import type { AuditJournal } from '../audit/auditJournal';
import { journalWriterAccount } from '../audit/journalKey';
import { BrowserPart } from '../browserPart/browserPart';
import { viewerAdmission } from '../browserPart/viewerAdmission';
import { FocusState } from '../gateway/focusState';
import { TicketRegistry } from '../gateway/ticketRegistry';
import { ShellLaunches } from '../host/shellLaunches';
import { RpcSessions, type RpcHandlers } from '../rpc/rpcSession';
import { testRoot } from '../testing/testRoots';
import { waitFor } from '../testing/waitFor';
import { UnprivilegedPart, type PartDefinition } from './partProcess';
import { testPartDefinition, type TestPartMessage } from '../testing/testPartDefinition';

/** A part that sends `says` (frames on fd 3), each after `afterMs`, then stays `staysMs` and exits. */
function scriptedPart(says: Array<{ message: object; afterMs: number }>, staysMs: number): string {
  const script = join(testRoot('cloison-partproc-'), 'part.mjs');
  writeFileSync(script, `import { writeSync } from 'node:fs';
const send = (v) => { const b = Buffer.from(JSON.stringify(v)); const h = Buffer.alloc(4); h.writeUInt32BE(b.length); writeSync(3, Buffer.concat([h, b])); };
const nap = (ms) => new Promise((r) => setTimeout(r, ms));
for (const s of ${JSON.stringify(says)}) { await nap(s.afterMs); send(s.message); }
await nap(${staysMs});
process.exit(0);
`);
  return script;
}

type Msg = TestPartMessage;
const parts: Array<UnprivilegedPart<Msg, unknown>> = [];
afterEach(async () => {
  for (const part of parts.splice(0)) await part.stop();
});

function part(script: string, overrides: Partial<PartDefinition<Msg>> = {}) {
  const events: string[] = [];
  const made = new UnprivilegedPart<Msg, unknown>(
    testPartDefinition(import.meta.url, 'test part', script, {
      account: () => ({ uid: 995, gid: 993 }),
      started: (m) => events.push(`started ${m.type}`),
      message: (m) => events.push(`message ${m.type}`),
      gone: () => events.push('gone'),
      restarting: (reason) => events.push(`restarting ${reason}`),
      log: (msg, fields) => events.push(`log ${msg} ${JSON.stringify(fields ?? {})}`),
      ...overrides,
    }),
  );
  parts.push(made);
  return { made, events };
}

describe('UnprivilegedPart', () => {
  it('turns a throw while building a start into a rejected start, not a throw', async () => {
    const { made } = part(scriptedPart([{ message: { type: 'ready' }, afterMs: 0 }], 10_000), {
      start: () => {
        throw new Error('ENAMETOOLONG: the part\'s folder');
      },
    });
    let started: Promise<void> | undefined;
    expect(() => (started = made.start())).not.toThrow();
    await expect(started).rejects.toThrow(/ENAMETOOLONG/);
  });

  it('a throw while starting it again is a failed restart, logged and tried again, not the root part\'s end', async () => {
    let starts = 0;
    const { made, events } = part(scriptedPart([{ message: { type: 'ready' }, afterMs: 0 }], 200), {
      start: () => {
        if (++starts > 1) throw new Error('ENAMETOOLONG: the part\'s folder');
        return {};
      },
    });
    await made.start();
    await waitFor(() => starts >= 3, 'the restart to fail and be tried again');
    expect(events.filter((e) => e.startsWith('log test part did not start again'))[0]).toContain('ENAMETOOLONG');
  });

  it('a throw in the owner\'s `started` is logged, and the start goes on', async () => {
    const { made, events } = part(scriptedPart([{ message: { type: 'ready' }, afterMs: 0 }], 10_000), {
      started: () => {
        throw new Error('the owner\'s bug');
      },
    });
    await made.start();
    expect(made.ready).toBe(true);
    expect(events.some((e) => e.includes('the owner\'s bug'))).toBe(true);
  });

  it('kills a part that said `failed`; its later `ready` starts nothing', async () => {
    const script = scriptedPart([{ message: { type: 'failed', error: 'no display' }, afterMs: 0 }, { message: { type: 'ready' }, afterMs: 300 }, { message: { type: 'later' }, afterMs: 50 }], 10_000);
    const { made, events } = part(script);
    const started = made.start();
    const pid = made.pid!;
    await expect(started).rejects.toThrow(/could not start: no display/);
    await waitFor(() => {
      try {
        process.kill(pid, 0);
        return false;
      } catch {
        return true;
      }
    }, 'the part that failed to be gone', 3000);
    await new Promise((r) => setTimeout(r, 500));
    expect(made.ready).toBe(false);
    expect(events.filter((e) => e.startsWith('started') || e.startsWith('message') || e.startsWith('restarting'))).toEqual([]);
  });

  it('the browser part starts again over an old folder its part made deeper than PATH_MAX, removed as its owner', async () => {
    const root = testRoot('cloison-partproc-deep-');
    try {
      const runDir = join(root, 'run');
      mkdirSync(runDir);
      // What a compromised part can leave in its folder: 30 levels of 200 characters (6 KB of path).
      const name = 'd'.repeat(200);
      execFileSync('bash', ['-c', `mkdir browser-part && cd browser-part && for i in $(seq 30); do mkdir ${name} && cd ${name}; done`], { cwd: runDir });
      // The part's own, as its part would have made it (as root, the part runs as the cloison account).
      const account = process.getuid?.() === 0 ? journalWriterAccount() : null;
      if (account) execFileSync('chown', ['-R', `${account.uid}:${account.gid}`, join(runDir, 'browser-part')]);
      const logs: string[] = [];
      const journal = { append: () => undefined } as unknown as AuditJournal;
      const part = new BrowserPart({
        rendererDir: null,
        shell: false,
        levels: ['low', 'high'],
        runDir,
        focus: new FocusState(['low', 'high'], 'low'),
        sak: () => sakKey('pause'),
        shells: { launches: new ShellLaunches(), handlers: {} as RpcHandlers, sessions: new RpcSessions() },
        admitViewer: viewerAdmission({ tickets: new TicketRegistry(), refusal: () => null, cageOf: () => null, journal }),
        journal,
        onViewers: () => undefined,
        log: (msg, fields) => void logs.push(`${msg} ${JSON.stringify(fields ?? {})}`),
        partScript: scriptedPart([{ message: { type: 'listening', port: 1, viewerPorts: {} }, afterMs: 0 }], 10_000),
      });
      parts.push(part as unknown as UnprivilegedPart<Msg, unknown>);
      let started: Promise<void> | undefined;
      expect(() => (started = part.start())).not.toThrow();
      await started;
      console.log(`logged: ${logs.join(" / ")}`);
      expect(readdirSync(join(runDir, 'browser-part'))).toEqual([]);
      if (account) {
        // Root emptied it as its owner (find: any depth), never walking it itself.
        await waitFor(() => readdirSync(runDir).length === 1, 'the old folder removed', 30_000);
        expect(logs.filter((l) => l.startsWith('browser part: its old folder not removed'))).toEqual([]);
      } else {
        // Our own folder: rmSync, which stops at PATH_MAX and says so; what it left stays aside.
        expect(logs.some((l) => l.startsWith('browser part: its old folder not removed'))).toBe(true);
      }
    } finally {
      execFileSync('rm', ['-rf', root]); // GNU rm walks any depth
    }
  });
});
