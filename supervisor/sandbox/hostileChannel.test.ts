/**
 * A compromised unprivileged part attacks the channel itself, below the messages' schemas
 * (testing/hostileChannelPart.ts, started in the part's place and restarted after each attack).
 * On Node's IPC channel (seen with the same attacks in the sound part's place): a line that is not
 * JSON and a NODE_HANDLE_ACK with nothing queued ended the root part (SyntaxError,
 * ERR_INTERNAL_ASSERTION), 200 MB with no newline grew it by 255 MB, a socket of the part's own was
 * accepted and held; a NODE_HANDLE with no descriptor was answered with an ACK (which ended the part). On the part's
 * channel (partChannel.ts) the root part runs on: each attack is the part's misbehaviour, the part
 * is killed and started again, the restart journaled with why; the root part's memory does not
 * grow with what the part writes, and holds no descriptor the part made. After the attacks the
 * real part starts on the same channel and works: the browser part answers HTTP, the sound part
 * relays its level.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sakKey } from '../../shared/keysyms';
import type { AuditJournal } from '../audit/auditJournal';
import { HostSound } from '../audio/hostSound';
import { SoundPart } from '../audio/soundPart';
import { BrowserPart } from '../browserPart/browserPart';
import { FocusState } from '../gateway/focusState';
import { TicketRegistry } from '../gateway/ticketRegistry';
import { ShellLaunches } from '../host/shellLaunches';
import { RpcSessions, type RpcHandlers } from '../rpc/rpcSession';
import { CHANNEL_ATTACKS, type AttackRecord } from '../testing/hostileChannelPart';
import { testRoot } from '../testing/testRoots';
import { waitFor } from '../testing/waitFor';
import { viewerAdmission } from '../browserPart/viewerAdmission';

const here = (path: string) => new URL(path, import.meta.url).href;

/** The part's script: the attacks, then the real part. */
function hostileScript(root: string, ready: object, realPart: string): string {
  const stateDir = join(root, 'state');
  mkdirSync(stateDir);
  const script = join(root, 'hostile.ts');
  writeFileSync(join(root, 'package.json'), '{ "type": "module" }'); // its top-level await
  writeFileSync(script, `import { attackChannel } from '${here('../testing/hostileChannelPart.ts')}';\nawait attackChannel(${JSON.stringify(stateDir)}, ${JSON.stringify(ready)}, '${here(realPart)}');\n`);
  return script;
}

const attacks = (root: string): AttackRecord[] => {
  try {
    return JSON.parse(readFileSync(join(root, 'state', 'attacks.json'), 'utf8')) as AttackRecord[];
  } catch {
    return [];
  }
};
const socketsHeld = () => readdirSync('/proc/self/fd').flatMap((fd) => {
  try {
    return [readlinkSync(`/proc/self/fd/${fd}`)];
  } catch {
    return [];
  }
});
function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
const rssMiB = () => process.memoryUsage().rss / 2 ** 20;

/** What every attack must have come to, seen from the root part. */
function expectAttacksFailed(root: string, restarts: string[], rssBefore: number): void {
  const done = attacks(root);
  console.log(`attacks: ${JSON.stringify(done)}\nrestarts journaled: ${JSON.stringify(restarts)}\nroot part's RSS: ${rssBefore.toFixed(0)} → ${rssMiB().toFixed(0)} MiB`);
  expect(done.map((a) => a.attack)).toEqual([...CHANNEL_ATTACKS]);
  // Each attack: the part killed for it and started again, the restart journaled with why.
  expect(restarts).toHaveLength(CHANNEL_ATTACKS.length);
  for (const reason of restarts) expect(reason).toMatch(/^misbehaved: frame of \d+ bytes announced, over the \d+-byte limit$/);
  // 200 MB written at it: the root part read 4 bytes of them (Node's channel held all, +255 MB).
  expect(rssMiB() - rssBefore).toBeLessThan(64);
  // Its own socket, sent as a descriptor: refused on the descriptor socket, and on the stream (a pipe).
  const own = done.find((a) => a.attack === 'a descriptor of its own')!;
  expect(own.socketInode).toMatch(/^socket:\[\d+\]$/);
  expect(own.onDescriptorSocket).toBe('EPIPE');
  expect(own.onStream).toBe('ENOTSOCK');
  expect(socketsHeld()).not.toContain(own.socketInode);
}

describe('a compromised part attacking its channel', () => {
  const parts: Array<{ stop: () => Promise<void> }> = [];
  afterAll(async () => {
    for (const part of parts) await part.stop();
  });

  it('the sound part: every attack ends the part, not the root part; the real one then relays', async () => {
    const root = testRoot('cloison-hchan-s-');
    const restarts: string[] = [];
    const part = new SoundPart({
      host: new HostSound(null),
      partScript: hostileScript(root, { type: 'ready' }, '../audio/soundPartMain.ts'),
      onRestart: (reason) => restarts.push(reason),
    });
    parts.push(part);
    execFileSync('mkfifo', ['-m', '0600', join(root, 'low-out')]);
    part.attach('low', { out: join(root, 'low-out'), mic: null }, { muted: false, volume: 100 });
    const rssBefore = rssMiB();
    await part.start();
    await waitFor(() => restarts.length === CHANNEL_ATTACKS.length && part.relayed('low'), 'every attack made and the real part relaying', 60_000);
    expectAttacksFailed(root, restarts, rssBefore);
    expect(attacks(root).map((a) => a.pid)).not.toContain(part.pid);
  }, 90_000);

  it('the browser part: every attack ends the part, not the root part; the real one then serves', async () => {
    const root = testRoot('cloison-hchan-b-');
    const record: string[] = [];
    const journal = { append: (kind: string, _actor: string, fields: Record<string, unknown> = {}) => void (kind === 'browserPart.restart' && record.push(String(fields.reason))) } as unknown as AuditJournal;
    mkdirSync(join(root, 'run'));
    const tickets = new TicketRegistry();
    // The port the attacker says it listens on: the real part is then started on it.
    const port = await freePort();
    const part = new BrowserPart({
      rendererDir: null,
      shell: false,
      levels: ['low', 'high'],
      runDir: join(root, 'run'),
      focus: new FocusState(['low', 'high'], 'low'),
      sak: () => sakKey('pause'),
      shells: { launches: new ShellLaunches(), handlers: {} as RpcHandlers, sessions: new RpcSessions() },
      admitViewer: viewerAdmission({ tickets, refusal: () => null, cageOf: () => null, journal }),
      journal,
      onViewers: () => undefined,
      partScript: hostileScript(root, { type: 'listening', port, viewerPorts: {} }, '../browserPart/partMain.ts'),
    });
    parts.push(part);
    const rssBefore = rssMiB();
    await part.start();
    const serves = () => fetch(`${part.origin}/`).then((r) => r.status, () => 0);
    await waitFor(async () => record.length === CHANNEL_ATTACKS.length && (await serves()) > 0, 'every attack made and the real part listening', 60_000);
    expectAttacksFailed(root, record, rssBefore);
    expect(part.port).toBe(port);
    expect(await serves()).toBeLessThan(500);
  }, 90_000);
});
