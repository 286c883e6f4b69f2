/**
 * A compromised browser part gets no more than a browser could. The script that runs in the
 * part's place (testing/hostileBrowserPart.ts) is started and restricted as the real part is, and
 * acts as an attacker holding code execution in it: its escapes (a cage's VNC socket, a root-only
 * file, root's state folder, uid 0) succeed before its restriction — what that foothold gave when
 * the root supervisor itself accepted browser connections — and fail after. Over its channel
 * it asks the root part for sessions it was never admitted to, cages' sockets on forged,
 * misdirected or spent tickets, and slips arguments in: each refused or dropped, no RPC handler
 * runs, nothing is journaled as admitted. The controls (a real launch secret, a valid ticket)
 * show the same channel does serve what a browser could get.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sakKey } from '../../shared/keysyms';
import type { AuditJournal } from '../audit/auditJournal';
import type { RunningCage } from '../cages/cageDriver';
import { FocusState } from '../gateway/focusState';
import { TicketRegistry } from '../gateway/ticketRegistry';
import { ShellLaunches } from '../host/shellLaunches';
import { RpcSessions, type RpcHandlers } from '../rpc/rpcSession';
import { peerCredentials } from '../sandbox/peerCredentials';
import type { HostileInput } from '../testing/hostileBrowserPart';
import { testRoot } from '../testing/testRoots';
import { waitFor } from '../testing/waitFor';
import { BrowserPart } from './browserPart';
import { viewerAdmission } from './viewerAdmission';

const HOSTILE = fileURLToPath(new URL('../testing/hostileBrowserPart.ts', import.meta.url));

interface Report {
  before: Record<string, string>;
  after: Record<string, string>;
  protocol: Record<string, unknown>;
  error?: string;
}

describe('a compromised browser part', () => {
  const root = testRoot('cloison-hostile-part-');
  const runDir = join(root, 'run');
  const cageDir = join(root, 'cage');
  const stateDir = join(root, 'state');
  const inputDir = join(root, 'input');
  const handlerCalls: string[] = [];
  const journal: Array<{ kind: string; fields: Record<string, unknown> }> = [];
  let cageServer: Server;
  let part: BrowserPart;
  let report: Report;

  beforeAll(async () => {
    for (const dir of [runDir, cageDir, stateDir, inputDir]) mkdirSync(dir, { mode: 0o700 });
    chmodSync(root, 0o700);
    const cageSocket = join(cageDir, 'vnc.sock');
    cageServer = createServer((s: Socket) => s.on('error', () => undefined).end('RFB 003.008\n'));
    await new Promise<void>((r) => cageServer.listen(cageSocket, r));
    const rootFile = join(stateDir, 'journal.key');
    writeFileSync(rootFile, 'secret', { mode: 0o600 });
    const tickets = new TicketRegistry();
    const launches = new ShellLaunches();
    const input: HostileInput = { cageSocket, rootFile, rootDir: stateDir, ticket: tickets.issue('low', 'shell-1'), control: tickets.issue('low', 'shell-1'), launch: launches.issue() };
    writeFileSync(join(inputDir, 'input.json'), JSON.stringify(input));
    // Every RPC method, recorded: a frame that reaches a handler shows here.
    const handlers = new Proxy({}, { get: (_t, method: string) => () => void handlerCalls.push(method) }) as RpcHandlers;
    const cage: RunningCage = {
      endpoint: { path: cageSocket },
      innerPid: null,
      exited: new Promise(() => undefined),
      stop: async () => undefined,
      verifyPeer: (socket) => {
        if (peerCredentials(socket).pid !== process.pid) throw new Error('not the cage');
      },
    };
    const record = { append: (kind: string, _actor: string, fields: Record<string, unknown> = {}) => journal.push({ kind, fields }) } as unknown as AuditJournal;
    part = new BrowserPart({
      rendererDir: inputDir,
      shell: true,
      levels: ['low', 'high'],
      runDir,
      focus: new FocusState(['low', 'high'], 'low'),
      sak: () => sakKey('pause'),
      shells: { launches, handlers, sessions: new RpcSessions() },
      admitViewer: viewerAdmission({ tickets, refusal: () => null, cageOf: (level) => (level === 'low' ? cage : null), journal: record }),
      journal: record,
      onViewers: () => undefined,
      partScript: HOSTILE,
    });
    await part.start();
    const reportFile = join(runDir, 'browser-part', 'report.json');
    await waitFor(() => existsSync(reportFile), 'the hostile part\'s report', 30_000);
    report = JSON.parse(readFileSync(reportFile, 'utf8')) as Report;
  }, 60_000);

  afterAll(async () => {
    await part?.stop();
    cageServer?.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('runs where the part runs: its escapes worked before the restriction (root, as before the split), none after', () => {
    expect(report.error).toBeUndefined();
    expect(report.before).toEqual({ 'connect to a cage\'s VNC socket': 'ok', 'read a root-only file': 'ok', 'write in root\'s state folder': 'ok', 'become root again': 'ok' });
    expect(report.after).toEqual({ 'connect to a cage\'s VNC socket': 'EACCES', 'read a root-only file': 'EACCES', 'write in root\'s state folder': 'EACCES', 'become root again': 'EPERM' });
  });

  it('gets no shell session without a launch secret or resume token the root part issued', () => {
    expect(report.protocol['shell admitted on a forged launch secret']).toBeNull();
    expect(report.protocol['shell admitted on a forged resume token']).toBeNull();
    expect(report.protocol['shell admitted offering nothing']).toBeNull();
    // Frames on connection numbers never admitted reached no handler and got no answer.
    expect(handlerCalls).toEqual([]);
    expect(report.protocol['frames received before any admission']).toBe(0);
    // The control: the real secret admits, and the session speaks (its onSession event).
    expect(report.protocol['shell admitted on the real launch secret']).toBe('admitted');
    expect(report.protocol['events received by the admitted shell']).toBe(true);
  });

  it('gets no cage socket on a forged, misdirected or spent ticket; a valid one gets exactly one', () => {
    expect(report.protocol['cage socket on a forged ticket']).toBe('refused 403');
    expect(report.protocol['cage socket of high on low\'s ticket']).toBe('refused 403');
    expect(report.protocol['cage socket on that ticket, spent']).toBe('refused 403');
    expect(report.protocol['cage socket on a valid ticket']).toBe('handle');
    expect(journal.filter((r) => r.kind === 'vnc.connect')).toEqual([{ kind: 'vnc.connect', fields: { level: 'low', session: 'shell-1' } }]);
  });

  it('slips no argument in: messages outside the schema are dropped unanswered and counted', async () => {
    expect(report.protocol['slipped shapes answered']).toBe(0);
    await waitFor(() => part.refused >= 8, 'the refused messages counted');
    expect(part.pid).not.toBeNull(); // still the same part: a few bad messages do not restart it
  });
});
