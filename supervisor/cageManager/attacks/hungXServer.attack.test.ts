/**
 * Attack (review of the cage manager's xhelper.run executor, issue #29): a cage whose X server
 * hangs (its Xvnc stopped by the cage itself: the kernel still takes connections, nothing answers)
 * holds each `xhelper.run` for that level until the executor's time limit. The server bounds the
 * requests in flight per connection and closes the connection past the bound
 * (cageManagerServer.ts), and the part has one connection (cageManagerClient.ts, no queue of its
 * own): a burst of reads of the hung cage's clipboard — plus the `cage.wait` each level keeps
 * pending — cuts the part's only connection, and every request on it fails, the other level's too.
 *
 * Here: 16 clipboard reads of `high` (hung) and then one request for `low`, on one connection of a
 * real `cloison`-account process. Expected of a safe manager: the `low` request answered (a hung
 * level's requests wait or are refused, they never take the others down).
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hungXServer, type HungXServer } from '../../testing/hungXServer';
import { serveManagerToCloison, type ServedManager } from '../../testing/managerServedToCloison';
import { sendFramesAs } from '../../testing/rawFramesAs';
import { bwrapCage, twoLevelPolicy } from '../../testing/testPolicy';
import { xHelperRunExecutor } from '../xHelperRunExecutor';

const POLICY = twoLevelPolicy({ low: bwrapCage({ uid: 58914 }), high: bwrapCage({ uid: 58915 }) });

let manager: ServedManager;
let hungX: HungXServer;

beforeAll(async () => {
  manager = await serveManagerToCloison({
    prefix: 'cloison-rv-hx-',
    policy: POLICY,
    // low is stopped (its requests are answered at once: not running); high runs, hung.
    executors: ({ policy }) => ({ 'xhelper.run': xHelperRunExecutor({ policy, x11Dir: (level) => (level === 'high' ? hungX.dir : null), timeoutMs: 4000 }) }),
  });
  // high's X socket folder, its X0 taken by a server that accepts and never answers.
  hungX = await hungXServer(join(manager.root, 'high-x11'));
});

afterAll(async () => {
  await manager?.close(() => hungX?.close());
});

describe('a hung X server in one cage', () => {
  it('does not take the other level\'s requests down with it', async () => {
    const read = (id: number) => ({ json: { id, request: { op: 'xhelper.run', level: 'high', program: 'xclip', args: ['-selection', 'clipboard', '-o'] } } });
    const frames = [...Array.from({ length: 16 }, (_, i) => read(i + 1)), { json: { id: 100, request: { op: 'xhelper.run', level: 'low', program: 'xsetroot', args: ['-solid', '#202020'] } } }];
    const outcome = await sendFramesAs(manager.cloison, manager.socketPath, frames);
    const replies = outcome.replies as Array<{ id: number; ok: boolean; error?: { message: string } }>;
    const low = replies.find((r) => r.id === 100);
    console.log(`16 reads of the hung cage's clipboard and one request for low on one connection: ${replies.length} replies, connection closed: ${outcome.closed}; low's: ${JSON.stringify(low ?? null)}`);
    expect(low, "low's request answered").toBeDefined();
    expect(low!.error?.message ?? '').toMatch(/low is not running/);
  }, 30_000);
});
