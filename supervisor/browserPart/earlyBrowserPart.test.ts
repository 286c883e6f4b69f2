/**
 * The browser part spawned before its supervisor (#29: the cloison part's first act): the process
 * goes as far as it can without the policy — its code loaded, its restriction made — and listens
 * on nothing until the supervisor's start takes it and sends `listen` (the levels, the front one,
 * the secure-attention key); one that ended meanwhile is replaced, and a restart spawns its own.
 * The real part (partMain.ts), as root, dropping to the `cloison` account.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sakKey } from '../../shared/keysyms';
import type { AuditJournal } from '../audit/auditJournal';
import { journalWriterAccount } from '../audit/journalKey';
import { FocusState } from '../gateway/focusState';
import { TicketRegistry } from '../gateway/ticketRegistry';
import { ShellLaunches } from '../host/shellLaunches';
import { RpcSessions, type RpcHandlers } from '../rpc/rpcSession';
import { skipWhen } from '../testing/skipWithReason';
import { testRoot } from '../testing/testRoots';
import { waitFor } from '../testing/waitFor';
import { BrowserPart } from './browserPart';
import { earlyBrowserPart, type BrowserPartSpawnSettings } from './browserPartSpawn';
import { viewerAdmission } from './viewerAdmission';

const cloison = process.getuid?.() === 0 ? journalWriterAccount() : null;
const made: BrowserPart[] = [];
afterEach(async () => {
  for (const part of made.splice(0)) await part.stop();
});

function browserPart(settings: BrowserPartSpawnSettings, early: ReturnType<typeof earlyBrowserPart>, logs: string[]): BrowserPart {
  const journal = { append: () => undefined } as unknown as AuditJournal;
  const part = new BrowserPart({
    ...settings,
    levels: ['low', 'high'],
    focus: new FocusState(['low', 'high'], 'high'),
    sak: () => sakKey('pause'),
    shells: { launches: new ShellLaunches(), handlers: {} as RpcHandlers, sessions: new RpcSessions() },
    admitViewer: viewerAdmission({ tickets: new TicketRegistry(), refusal: () => null, cageOf: () => null, journal }),
    journal,
    onViewers: () => undefined,
    log: (msg, fields) => void logs.push(`${msg} ${JSON.stringify(fields ?? {})}`),
    early,
  });
  made.push(part);
  return part;
}

/** The TCP ports a process listens on (ss, its own sockets). */
function listeningPorts(pid: number): number[] {
  const out = execFileSync('ss', ['-Hltnp'], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter((l) => l.includes(`pid=${pid},`))
    .map((l) => Number(/:(\d+)\s/.exec(l)?.[1]));
}

const uidOf = (pid: number) => Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);

describe('the browser part spawned early', skipWhen(!cloison && 'run as root with the cloison account (scripts/setup.sh makes it): the part drops to it'), () => {
  it('loads and restricts itself, listens only once its start sends `listen`, and is the first start\'s process', async () => {
    const settings = { rendererDir: null, shell: true, runDir: join(testRoot('cloison-early-bp-'), 'run') };
    const early = earlyBrowserPart(settings);
    const pid = early.pid!;
    // As far as it goes without the policy: the cloison account's, listening on nothing.
    await waitFor(() => uidOf(pid) === cloison!.uid, 'the early part to drop to cloison', 20_000);
    await new Promise((r) => setTimeout(r, 300));
    expect(listeningPorts(pid)).toEqual([]);

    const logs: string[] = [];
    const part = browserPart(settings, early, logs);
    await part.start();
    expect(part.pid).toBe(pid);
    expect(Object.keys(part.viewerOrigins)).toEqual(['low', 'high']);
    expect(listeningPorts(pid).sort()).toEqual([part.port, ...Object.values(part.viewerOrigins).map((o) => Number(new URL(o).port))].sort());

    // A restart spawns its own, on the same ports.
    const port = part.port;
    process.kill(pid, 'SIGKILL');
    await waitFor(() => part.pid !== null && part.pid !== pid && listeningPorts(part.pid).includes(port), 'the part started again on its port', 20_000);
    expect(logs.some((l) => l.includes('started early'))).toBe(false);
  }, 60_000);

  it('one that ended before the start is not taken: the start spawns another, and says so', async () => {
    const root = testRoot('cloison-early-bp-gone-');
    const script = join(root, 'ends.mjs');
    writeFileSync(script, 'process.exit(3);\n');
    const settings = { rendererDir: null, shell: false, runDir: join(root, 'run') };
    const early = earlyBrowserPart({ ...settings, partScript: script });
    const pid = early.pid!;
    await waitFor(() => {
      try {
        return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.startsWith('Z');
      } catch {
        return true;
      }
    }, 'the early part to end', 20_000);
    await new Promise((r) => setTimeout(r, 200)); // its exit seen by this process
    const logs: string[] = [];
    const part = browserPart(settings, early, logs);
    await part.start();
    expect(part.pid).not.toBe(pid);
    expect(part.port).toBeGreaterThan(0);
    expect(logs.some((l) => l.startsWith('browser part: the one started early had ended, another is started'))).toBe(true);
  }, 60_000);
});
