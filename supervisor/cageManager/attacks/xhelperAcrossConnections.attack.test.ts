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
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hungXServer, type HungXServer } from '../../testing/hungXServer';
import { serveManagerToCloison, type ServedManager } from '../../testing/managerServedToCloison';
import { sendFramesAs } from '../../testing/rawFramesAs';
import { bwrapCage, twoLevelPolicy } from '../../testing/testPolicy';
import { XHELPER_RUNNING_PER_LEVEL, xHelperRunExecutor } from '../xHelperRunExecutor';

const POLICY = twoLevelPolicy({ low: bwrapCage({ uid: 58824 }), high: bwrapCage({ uid: 58825 }) });
const CONNECTIONS = 5;
const READS = 10;

let manager: ServedManager;
let hungX: HungXServer;

/** The X helper sandboxes this process runs over the hung server's folder (bwrap's own child excluded: -P). */
const sandboxes = () => spawnSync('pgrep', ['-P', String(process.pid), '-f', `bwrap.*${hungX.dir}`], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).length;

beforeAll(async () => {
  manager = await serveManagerToCloison({
    prefix: 'cloison-xhc-',
    policy: POLICY,
    executors: ({ policy }) => ({ 'xhelper.run': xHelperRunExecutor({ policy, x11Dir: (level) => (level === 'high' ? hungX.dir : null), timeoutMs: 6000 }) }),
  });
  // high's X socket folder, its X0 taken by a server that accepts and never answers.
  hungX = await hungXServer(join(manager.root, 'high-x11'));
});

afterAll(async () => {
  await manager?.close(() => hungX?.close());
});

describe('xhelper.run on a hung cage from many connections', () => {
  it('runs no more X helper sandboxes at once for the level than its bound', async () => {
    const read = (id: number) => ({ json: { id, request: { op: 'xhelper.run', level: 'high', program: 'xclip', args: ['-selection', 'clipboard', '-o'] } } });
    let most = 0;
    const sampler = setInterval(() => (most = Math.max(most, sandboxes())), 100);
    const outcomes = await Promise.all(Array.from({ length: CONNECTIONS }, () => sendFramesAs(manager.cloison, manager.socketPath, Array.from({ length: READS }, (_, i) => read(i + 1)))));
    clearInterval(sampler);
    const replies = outcomes.flatMap((o) => o.replies as Array<{ ok: boolean; error?: { code: string } }>);
    const busy = replies.filter((r) => r.error?.code === 'BUSY').length;
    const low = await sendFramesAs(manager.cloison, manager.socketPath, [{ json: { id: 1, request: { op: 'xhelper.run', level: 'low', program: 'xsetroot', args: ['-solid', '#202020'] } } }]);
    console.log(`${CONNECTIONS} connections x ${READS} reads of the hung cage's clipboard: ${replies.length} replies, ${busy} BUSY; X helper sandboxes at once, at most: ${most}; low's answer after: ${JSON.stringify(low.replies[0])}`);
    expect(replies).toHaveLength(CONNECTIONS * READS);
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(XHELPER_RUNNING_PER_LEVEL);
    expect(busy).toBeGreaterThanOrEqual(CONNECTIONS * READS - XHELPER_RUNNING_PER_LEVEL);
    expect(low.replies[0]).toMatchObject({ ok: false, error: { message: expect.stringMatching(/low is not running/) } });
    expect(sandboxes()).toBe(0);
  }, 60_000);
});
