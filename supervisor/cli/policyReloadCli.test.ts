/**
 * `cloison policy reload` split (#29): a policy file being written (the manager's "being written,
 * retry") is asked again a few times before the command says so, and the command names the
 * authoritative reload (`systemctl reload cloison-cage-manager`): this one goes through the part.
 */
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import type { ReloadOutcome } from '../policy/policyReloader';
import { testRoot } from '../testing/testRoots';
import { runCliWithSupervisor } from './cloison';

const BEING_WRITTEN: ReloadOutcome = { decision: 'refused', reason: 'the cage manager did not read the policy: p.yaml is being written', changes: [], restarted: [], retry: true };
let server: Server | null = null;
let root = '';

/** An admin socket answering each `policy.reload` with the next of `answers` (the last one repeated). */
async function adminSocket(answers: ReloadOutcome[]): Promise<{ path: string; asked: () => number }> {
  root = testRoot('cloison-clireload-');
  const path = join(root, 'admin.sock');
  let asked = 0;
  server = createServer((sock) => {
    sock.setEncoding('utf8');
    sock.on('data', () => {
      const result = answers[Math.min(asked, answers.length - 1)];
      asked++;
      sock.end(`${JSON.stringify({ id: 1, ok: true, result })}\n`);
    });
  });
  await new Promise<void>((resolve) => server!.listen(path, resolve));
  return { path, asked: () => asked };
}

afterEach(async () => {
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
  server = null;
  rmSync(root, { recursive: true, force: true });
});

describe('cloison policy reload', () => {
  it('a file being written: asked again until the manager takes it; the authoritative reload named', async () => {
    const socket = await adminSocket([BEING_WRITTEN, BEING_WRITTEN, { decision: 'applied', changes: ['audio changed'], restarted: [] }]);
    const out: string[] = [];
    const err: string[] = [];
    expect(await runCliWithSupervisor(['policy', 'reload', '--socket', socket.path], (s) => out.push(s), (s) => err.push(s))).toBe(0);
    expect(socket.asked()).toBe(3);
    expect(out.join('\n')).toMatch(/decision: applied/);
    expect(err.join('\n')).toMatch(/systemctl reload cloison-cage-manager. is the authoritative reload/);
  }, 30_000);

  it('a file that stays being written: a few tries, then refused with the reason', async () => {
    const socket = await adminSocket([BEING_WRITTEN]);
    const out: string[] = [];
    expect(await runCliWithSupervisor(['policy', 'reload', '--socket', socket.path], (s) => out.push(s), () => undefined)).toBe(1);
    expect(socket.asked()).toBe(4);
    expect(out.join('\n')).toMatch(/being written/);
  }, 30_000);
});
