/**
 * The supervisor as a whole, with a real cage: its RPC over the Unix socket and the token-gated
 * WebSocket, events, and the journal records for a session.
 */
import { readFileSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { readHead, verifyJournal } from './audit/auditJournal';
import { parsePolicy } from './policy/policyLoader';
import { Supervisor } from './supervisor';
import { testRoot } from './testing/realCage';
import { bwrapCage, twoLevelPolicy, vncCage } from './testing/testPolicy';

const POLICY = twoLevelPolicy({ low: bwrapCage({ uid: 62901 }), high: vncCage('/nonexistent/vnc.sock') });

describe('supervisor (real cage)', () => {
  const root = testRoot();
  let sup: Supervisor;

  beforeAll(async () => {
    sup = new Supervisor({ policy: parsePolicy(POLICY, 'p.yaml'), policySource: 'p.yaml', policyText: POLICY, stateDir: join(root, 'state'), runDir: join(root, 'run'), rendererDir: null });
    await sup.start();
  });
  afterAll(async () => {
    await sup?.stop();
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

  function rpcSocket(protocols: string[], origin?: string): Promise<WebSocket> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${sup.browserHost!.port}/rpc`, protocols, origin ? { origin } : {});
      ws.on('open', () => resolve(ws));
      ws.on('unexpected-response', (_q, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      ws.on('error', reject);
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

  it('refuses the RPC WebSocket without the launch token, with a wrong one, or from a foreign page', async () => {
    await expect(rpcSocket(['cloison.v1'])).rejects.toThrow('HTTP 401');
    await expect(rpcSocket(['cloison.v1', 'cloison-token.' + 'A'.repeat(32)])).rejects.toThrow('HTTP 401');
    await expect(rpcSocket(['cloison.v1', 'cloison-token.' + sup.launchToken], 'http://evil.example')).rejects.toThrow('HTTP 403');
  });

  it('answers over the WebSocket with the token and pushes focus events to every shell', async () => {
    const a = await rpcSocket(['cloison.v1', 'cloison-token.' + sup.launchToken]);
    const b = await rpcSocket(['cloison.v1', 'cloison-token.' + sup.launchToken]);
    const event = new Promise((r) => b.on('message', (d) => r(JSON.parse(d.toString()))));
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
