/**
 * `sleep.wait` asked as a compromised `cloison` part would, on the real manager socket: the request
 * with a field slipped in is refused and journaled; twenty waits at once hold at most the lane's
 * bound (the rest answered BUSY, journaled once), every other request is still answered while they
 * pend, and one announced sleep answers every pending wait, once, with the one fact (nothing else
 * the manager knows rides on it). The executor keeps one wait however many are asked.
 */
import { chmodSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileAuditJournal } from '../../audit/auditJournal';
import { parsePolicy } from '../../policy/policyLoader';
import { createPamTestUser, type PamTestUser } from '../../testing/pamTestUser';
import { sendFramesAs } from '../../testing/rawFramesAs';
import { testRoot } from '../../testing/realCage';
import { bwrapCage, twoLevelPolicy } from '../../testing/testPolicy';
import { waitFor } from '../../testing/waitFor';
import { appRunningExecutor } from '../appRunningExecutor';
import { CageManagerServer, DEFAULT_MAX_IN_FLIGHT, REFUSED_KIND } from '../cageManagerServer';
import { sleepWaitExecutor } from '../sleepWaitExecutor';

let root: string;
let journal: FileAuditJournal;
let cloison: PamTestUser;
let server: CageManagerServer;
const sleepWait = sleepWaitExecutor();

const refusals = () => readFileSync(journal.path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>).filter((r) => r.kind === REFUSED_KIND);

beforeAll(async () => {
  root = testRoot('cloison-sw-');
  chmodSync(root, 0o711);
  cloison = createPamTestUser();
  journal = new FileAuditJournal(join(root, 'journal.jsonl'));
  const policy = parsePolicy(twoLevelPolicy({ low: bwrapCage({ uid: 61831 }), high: bwrapCage({ uid: 61832 }) }), 'p.yaml');
  server = new CageManagerServer({
    socketPath: join(root, 'manager.sock'),
    peerUid: cloison.uid,
    peerGid: cloison.gid,
    journal,
    authorization: { policy: () => policy, stateDir: join(root, 'state'), runDir: join(root, 'run'), trainingKeysDir: join(root, 'training'), workstationUser: null },
    executors: { 'sleep.wait': sleepWait, 'app.running': appRunningExecutor({ policy: () => policy, launcherOf: () => null }) },
  });
  await server.listen();
}, 30_000);

afterAll(async () => {
  await server?.close();
  journal?.close();
  cloison?.remove();
  rmSync(root, { recursive: true, force: true });
});

describe('sleep.wait flooded by the part', () => {
  it('a field slipped in is refused; past the bound BUSY; other requests answered meanwhile; one sleep answers every pending wait once', async () => {
    const waits = Array.from({ length: 20 }, (_, i) => ({ json: { id: 10 + i, request: { op: 'sleep.wait' } } }));
    const asking = sendFramesAs(cloison, join(root, 'manager.sock'), [
      { json: { id: 1, request: { op: 'sleep.wait', level: 'low' } } },
      ...waits,
      { json: { id: 2, request: { op: 'app.running', level: 'low' } } },
    ]);
    // The refusals are journaled as they are answered; the waits within the bound pend until the sleep.
    await waitFor(() => refusals().some((r) => r.op === 'sleep.wait' && /busy/.test(String(r.reason))) && refusals().some((r) => r.op === 'sleep.wait' && /not a root request/.test(String(r.reason))), 'the refusals', 10_000);
    sleepWait.announce();
    const { replies } = (await asking) as { replies: Array<{ id: number; ok: boolean; result?: unknown; error?: { code: string } }> };
    const byId = new Map(replies.map((r) => [r.id, r]));
    expect(byId.get(1)).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    expect(byId.get(2)).toMatchObject({ ok: true, result: { programs: [] } });
    const answered = replies.filter((r) => r.id >= 10 && r.ok);
    expect(answered).toHaveLength(DEFAULT_MAX_IN_FLIGHT);
    for (const r of answered) expect(r.result).toEqual({ sleeping: true });
    expect(replies.filter((r) => r.id >= 10 && !r.ok).map((r) => r.error!.code)).toEqual(Array(20 - DEFAULT_MAX_IN_FLIGHT).fill('BUSY'));
    // Each wait answered once: 22 frames, 22 replies.
    expect(replies).toHaveLength(22);
    // The burst of BUSY is journaled once, not once per request.
    expect(refusals().filter((r) => /busy/.test(String(r.reason)))).toHaveLength(1);
  }, 30_000);
});
