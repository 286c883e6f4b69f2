/**
 * Attack (review of the cage manager's xhelper.run executor, issue #29): the server bounds the
 * requests in flight per connection, not per level, and the part may open as many connections as
 * it likes; on a cage whose X server hangs (it accepts, never answers) every clipboard read holds
 * a root-spawned X helper sandbox until the executor's time limit. Many connections, each with a
 * burst of reads, make root spawn as many sandboxes at once as the part asks.
 *
 * Here a stand-in hung X server (as hungXServer.attack.test.ts), 5 connections of a real
 * `cloison`-account process with 10 reads each at once; the X helper sandboxes running at once
 * (bwrap children of this process over the hung X folder) counted while they wait. Expected: no
 * more than the executor's bound per level (XHELPER_RUNNING_PER_LEVEL), the rest answered BUSY,
 * and the other level still answered.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileAuditJournal } from '../../audit/auditJournal';
import { parsePolicy } from '../../policy/policyLoader';
import { createPamTestUser, type PamTestUser } from '../../testing/pamTestUser';
import { sendFramesAs } from '../../testing/rawFramesAs';
import { testRoot } from '../../testing/realCage';
import { bwrapCage, twoLevelPolicy } from '../../testing/testPolicy';
import { CageManagerServer } from '../cageManagerServer';
import { XHELPER_RUNNING_PER_LEVEL, xHelperRunExecutor } from '../xHelperRunExecutor';

const POLICY = twoLevelPolicy({ low: bwrapCage({ uid: 61824 }), high: bwrapCage({ uid: 61825 }) });
const CONNECTIONS = 5;
const READS = 10;

let root: string;
let x11: string;
let cloison: PamTestUser;
let journal: FileAuditJournal;
let server: CageManagerServer;
let hungX: Server;
const held: Socket[] = [];

/** The X helper sandboxes this process runs over the hung server's folder (bwrap's own child excluded: -P). */
const sandboxes = () => spawnSync('pgrep', ['-P', String(process.pid), '-f', `bwrap.*${x11}`], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).length;

beforeAll(async () => {
  root = testRoot('cloison-xhc-');
  chmodSync(root, 0o711);
  cloison = createPamTestUser();
  journal = new FileAuditJournal(join(root, 'audit.jsonl'));
  x11 = join(root, 'high-x11');
  mkdirSync(x11, { mode: 0o755 });
  hungX = createServer((s) => void held.push(s));
  await new Promise<void>((r) => hungX.listen(join(x11, 'X0'), () => r()));
  chmodSync(join(x11, 'X0'), 0o777);
  const policy = () => parsePolicy(POLICY, 'p.yaml');
  server = new CageManagerServer({
    socketPath: join(root, 'manager.sock'),
    peerUid: cloison.uid,
    peerGid: cloison.gid,
    journal,
    authorization: { policy, stateDir: join(root, 'state'), runDir: join(root, 'run'), trainingKeysDir: join(root, 'training'), workstationUser: null },
    executors: { 'xhelper.run': xHelperRunExecutor({ policy, x11Dir: (level) => (level === 'high' ? x11 : null), timeoutMs: 6000 }) },
  });
  await server.listen();
});

afterAll(async () => {
  await server?.close();
  for (const s of held) s.destroy();
  hungX?.close();
  journal?.close();
  cloison?.remove();
  rmSync(root, { recursive: true, force: true });
});

describe('xhelper.run on a hung cage from many connections', () => {
  it('runs no more X helper sandboxes at once for the level than its bound', async () => {
    const read = (id: number) => ({ json: { id, request: { op: 'xhelper.run', level: 'high', program: 'xclip', args: ['-selection', 'clipboard', '-o'] } } });
    let most = 0;
    const sampler = setInterval(() => (most = Math.max(most, sandboxes())), 100);
    const outcomes = await Promise.all(Array.from({ length: CONNECTIONS }, () => sendFramesAs(cloison, join(root, 'manager.sock'), Array.from({ length: READS }, (_, i) => read(i + 1)))));
    clearInterval(sampler);
    const replies = outcomes.flatMap((o) => o.replies as Array<{ ok: boolean; error?: { code: string } }>);
    const busy = replies.filter((r) => r.error?.code === 'BUSY').length;
    const low = await sendFramesAs(cloison, join(root, 'manager.sock'), [{ json: { id: 1, request: { op: 'xhelper.run', level: 'low', program: 'xsetroot', args: ['-solid', '#202020'] } } }]);
    console.log(`${CONNECTIONS} connections x ${READS} reads of the hung cage's clipboard: ${replies.length} replies, ${busy} BUSY; X helper sandboxes at once, at most: ${most}; low's answer after: ${JSON.stringify(low.replies[0])}`);
    expect(replies).toHaveLength(CONNECTIONS * READS);
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(XHELPER_RUNNING_PER_LEVEL);
    expect(busy).toBeGreaterThanOrEqual(CONNECTIONS * READS - XHELPER_RUNNING_PER_LEVEL);
    expect(low.replies[0]).toMatchObject({ ok: false, error: { message: expect.stringMatching(/low is not running/) } });
    expect(sandboxes()).toBe(0);
  }, 60_000);
});
