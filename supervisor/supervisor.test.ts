/**
 * The supervisor as a whole, with a real cage: its RPC over the Unix socket and the token-gated
 * WebSocket, events, and the journal records for a session.
 */
import { readFileSync, rmSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { readHead, verifyJournal } from './audit/auditJournal';
import { parsePolicy } from './policy/policyLoader';
import { Supervisor } from './supervisor';
import { testRoot } from './testing/realCage';
import { bwrapCage, twoLevelPolicy, vncCage } from './testing/testPolicy';
import { waitFor } from './testing/waitFor';

const POLICY = twoLevelPolicy({ low: bwrapCage({ uid: 59901 }), high: vncCage('/nonexistent/vnc.sock') });

describe('supervisor (real cage)', () => {
  const root = testRoot();
  let sup: Supervisor;

  beforeAll(async () => {
    sup = new Supervisor({ policy: parsePolicy(POLICY, 'p.yaml'), policySource: 'p.yaml', policyText: POLICY, stateDir: join(root, 'state'), runDir: join(root, 'run'), rendererDir: null, browserShell: true });
    await sup.start();
  });
  afterAll(async () => {
    await sup?.stop();
    rmSync(root, { recursive: true, force: true }); // its cage's home is reserved whole
  });

  function unixCall(method: string, params: unknown): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      const sock = connect({ path: sup.rpcSocketPath });
      let text = '';
      sock.on('data', (d) => {
        text += d.toString();
        const line = text.split('\n').find((l) => l.includes('"response"'));
        if (line) {
          sock.end();
          resolve(JSON.parse(line));
        }
      });
      sock.on('error', reject);
      sock.write(JSON.stringify({ type: 'request', id: 1, method, params }) + '\n');
    });
  }

  /** A WebSocket to the RPC; `origin` null sends none (a local process, not a page). */
  const framesOf = new WeakMap<WebSocket, Array<Record<string, unknown>>>();
  function rpcSocket(protocols: string[], origin: string | null = sup.browserHost!.origin): Promise<WebSocket> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${sup.browserHost!.port}/rpc`, protocols, origin ? { origin } : {});
      // Every frame from the first on: the supervisor speaks first (onSession).
      const frames: Array<Record<string, unknown>> = [];
      framesOf.set(ws, frames);
      ws.on('message', (d) => frames.push(JSON.parse(d.toString())));
      ws.on('open', () => resolve(ws));
      ws.on('unexpected-response', (_q, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      ws.on('error', reject);
    });
  }

  const secretOf = (url: string) => url.split('#launch=')[1]!;
  const launch = async () => secretOf(((await unixCall('shell.launch', {})).result as { url: string }).url);
  async function nextEvent(ws: WebSocket, name: string): Promise<Record<string, unknown>> {
    const frames = framesOf.get(ws)!;
    await waitFor(() => frames.some((f) => f.type === 'event' && f.name === name), name);
    const i = frames.findIndex((f) => f.type === 'event' && f.name === name);
    return frames.splice(i, 1)[0]!.data as Record<string, unknown>;
  }
  function call(ws: WebSocket, id: number, method: string, params: unknown): Promise<Record<string, unknown>> {
    return new Promise((resolve) => {
      ws.on('message', (d) => {
        const frame = JSON.parse(d.toString());
        if (frame.type === 'response' && frame.id === id) resolve(frame);
      });
      ws.send(JSON.stringify({ type: 'request', id, method, params }));
    });
  }

  it('starts the bwrap cage and reports the unreachable vnc endpoint as crashed, with the reason', () => {
    expect(sup.cages.get('low')!.state.status).toBe('running');
    expect(sup.cages.get('high')!.state).toMatchObject({ status: 'crashed', detail: expect.stringContaining('VNC endpoint /nonexistent/vnc.sock unreachable') });
  });

  it('serves RPC on a Unix socket only its owner can open', async () => {
    expect(statSync(sup.rpcSocketPath).mode & 0o777).toBe(0o600);
    const r = await unixCall('session.describe', {});
    expect(r).toMatchObject({ ok: true, result: { focus: 'low', levels: [{ id: 'low', colour: '#1b7f3b' }, { id: 'high', colour: '#b3261e' }] } });
  });

  it('refuses the RPC WebSocket without a launch secret, with a wrong one, from a foreign page or from no page at all', async () => {
    await expect(rpcSocket(['cloison.v1'])).rejects.toThrow('HTTP 401');
    await expect(rpcSocket(['cloison.v1', 'cloison-launch.' + 'A'.repeat(32)])).rejects.toThrow('HTTP 401');
    await expect(rpcSocket(['cloison.v1', 'cloison-launch.' + (await launch())], 'http://evil.example')).rejects.toThrow('HTTP 403');
    await expect(rpcSocket(['cloison.v1', 'cloison-launch.' + (await launch())], null)).rejects.toThrow('HTTP 403');
  });

  it('attack: a launch address read from a log or a command line opens nothing once its shell has used it', async () => {
    const secret = await launch();
    const shell = await rpcSocket(['cloison.v1', 'cloison-launch.' + secret]);
    // The thief, with the very same secret, from a page of ours even: refused, and no ticket.
    await expect(rpcSocket(['cloison.v1', 'cloison-launch.' + secret])).rejects.toThrow('HTTP 401');
    shell.close();
  });

  it('a reload resumes its own session once; the token it used is spent, and the page it replaced is closed', async () => {
    const first = await rpcSocket(['cloison.v1', 'cloison-launch.' + (await launch())]);
    const session = await nextEvent(first, 'onSession');
    const closed = new Promise<number>((r) => first.on('close', (code) => r(code)));
    const reloaded = await rpcSocket(['cloison.v1', 'cloison-resume.' + String(session.resume)]);
    const resumed = await nextEvent(reloaded, 'onSession');
    expect(resumed.session).toBe(session.session);
    expect(resumed.resume).not.toBe(session.resume);
    expect(await closed).toBe(4000);
    await expect(rpcSocket(['cloison.v1', 'cloison-resume.' + String(session.resume)])).rejects.toThrow('HTTP 401');
    expect(await call(reloaded, 1, 'session.describe', {})).toMatchObject({ ok: true, result: { session: session.session } });
    reloaded.close();
  });

  it('gives each level a viewer origin of its own that may reach the gateway only, never the RPC', async () => {
    const origins = sup.browserHost!.viewerOrigins;
    expect(Object.keys(origins)).toEqual(['low', 'high']);
    expect(new Set([sup.browserHost!.origin, origins.low, origins.high]).size).toBe(3);
    await expect(rpcSocket(['cloison.v1', 'cloison-launch.' + (await launch())], origins.low!)).rejects.toThrow('HTTP 403');
  });

  it('mints launch addresses only over the Unix socket, and journals every ticket with its session', async () => {
    const ws = await rpcSocket(['cloison.v1', 'cloison-launch.' + (await launch())]);
    const session = (await nextEvent(ws, 'onSession')).session;
    expect(await call(ws, 1, 'shell.launch', {})).toMatchObject({ ok: false, error: { code: 'NOT_AUTHORISED' } });
    expect(await call(ws, 2, 'vnc.ticket', { level: 'low' })).toMatchObject({ ok: true });
    ws.close();
    const records = readFileSync(join(root, 'state', 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(records).toContainEqual(expect.objectContaining({ kind: 'vnc.ticket', level: 'low', session }));
  });

  it('answers over the WebSocket with a launch secret and pushes focus events to every shell', async () => {
    const a = await rpcSocket(['cloison.v1', 'cloison-launch.' + (await launch())]);
    const b = await rpcSocket(['cloison.v1', 'cloison-launch.' + (await launch())]);
    const event = new Promise((r) =>
      b.on('message', (d) => {
        const frame = JSON.parse(d.toString());
        if (frame.name === 'onFocus') r(frame);
      }),
    );
    const reply = new Promise((r) =>
      a.on('message', (d) => {
        const frame = JSON.parse(d.toString());
        if (frame.type === 'response') r(frame);
      }),
    );
    a.send(JSON.stringify({ type: 'request', id: 7, method: 'focus.set', params: { level: 'high' } }));
    expect(await reply).toEqual({ type: 'response', id: 7, ok: true, result: { level: 'high' } });
    expect(await event).toEqual({ type: 'event', name: 'onFocus', data: { level: 'high' } });
    a.close();
    b.close();
  });

  it('answers malformed and traversing addresses with an error and keeps serving', async () => {
    const base = `http://127.0.0.1:${sup.browserHost!.port}`;
    const statusOf = async (path: string) => (await fetch(base + path)).status;
    expect(await statusOf('/%E0%A4%A')).toBe(400);
    expect(await statusOf('/..%2f..%2fetc%2fpasswd')).toBe(404);
    expect(await statusOf('/%2e%2e/%2e%2e/etc/passwd')).toBe(404);
    expect((await fetch(base + '/', { method: 'POST' })).status).toBe(405);
    expect(await statusOf('/')).toBe(404); // this test supervisor has no renderer: still answering
  });

  it('refuses a ticket for a cage that is not running, and for a level the policy lacks', async () => {
    expect(await unixCall('vnc.ticket', { level: 'high' })).toMatchObject({ ok: false, error: { code: 'CAGE_UNAVAILABLE' } });
    expect(await unixCall('vnc.ticket', { level: 'secret' })).toMatchObject({ ok: false, error: { code: 'UNKNOWN_LEVEL' } });
    expect(await unixCall('vnc.ticket', { level: 'low' })).toMatchObject({ ok: true, result: { path: '/vnc', ticket: expect.any(String) } });
  });

  it('journals the policy load, cage states and level switches, and the journal verifies', async () => {
    await unixCall('focus.set', { level: 'low' });
    const path = join(root, 'state', 'audit.jsonl');
    const records = readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(records[0]).toMatchObject({ kind: 'policy.load', source: 'p.yaml', levels: 'low,high', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(records.map((r) => r.kind)).toEqual(expect.arrayContaining(['cage.starting', 'cage.running', 'cage.crashed', 'level.switch']));
    expect(records.filter((r) => r.kind === 'level.switch').map((r) => [r.from, r.to])).toEqual([
      ['low', 'high'],
      ['high', 'low'],
    ]);
    expect(verifyJournal(readFileSync(path, 'utf8'), readHead(path))).toMatchObject({ ok: true });
  });
});
