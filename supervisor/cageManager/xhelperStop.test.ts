/**
 * `xhelper.stop` from a real `cloison` part (xhelperStopPart.testTool.ts) against a real manager
 * server running the real `xhelper.run` and `xhelper.stop` executors on a real cage's X server
 * (both levels' X tools reach that one server here, so one cage shows both levels' selections).
 *
 * What the user sees: the part's clipboard pastes into the cage (its apps paste it), and once the
 * part's clipboard is disposed the cage's selections no longer hold the paste — before, the
 * manager's xclips served it on until another paste or the cage's end. A compromised part asking
 * to stop high's xclip by naming low (or low's by naming high) is refused and journaled, and a
 * connection never answered stops nothing: the cage still has both texts. Seen with an executor
 * stopping whatever xclip the connection named: high's PRIMARY stopped by a request naming low.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveManagerToCloison, type ServedManager } from '../testing/managerServedToCloison';
import { startRealCage, type RealCage } from '../testing/realCage';
import { TEST_HOME_LIMIT, twoLevelPolicy } from '../testing/testPolicy';
import { ServingSelections } from './servingSelections';
import { xHelperRunExecutor } from './xHelperRunExecutor';
import { xhelperStopExecutor } from './xhelperStopExecutor';

let manager: ServedManager;
let cage: RealCage;
const CAGE = `{ driver: bwrap, network: none, apps: [], limits: { ${TEST_HOME_LIMIT} } }`;
const POLICY = twoLevelPolicy({ low: CAGE, high: CAGE });

beforeAll(async () => {
  const serving = new ServingSelections();
  manager = await serveManagerToCloison({
    prefix: 'cloison-xstop-',
    policy: POLICY,
    executors: ({ policy, part }) => ({
      'xhelper.run': xHelperRunExecutor({ policy, x11Dir: () => cage.driver.x11Dir, part, serving }),
      'xhelper.stop': xhelperStopExecutor(serving),
    }),
  });
  cage = await startRealCage({ level: 'low', root: manager.root, geometry: '640x480' });
}, 60_000);

afterAll(async () => {
  await manager?.close(() => cage?.stop());
});

/** What the cage's own apps paste, asked from inside the cage ('' when the selection has no owner). */
const inCage = async (selection: string) => (await cage.sh(`export DISPLAY=:0; xclip -o -selection ${selection} 2>/dev/null`)).stdout;

type Report = { step: string } & Record<string, unknown>;

async function runPart(mode: 'dispose' | 'attack', onStep: (r: Report) => Promise<void> = async () => undefined): Promise<Report[]> {
  const reports: Report[] = [];
  try {
    await manager.runPart(join(__dirname, 'xhelperStopPart.testTool.ts'), { managerSocket: manager.socketPath, policy: POLICY, mode, goFile: join(manager.root, `go-${mode}`) }, {
      message: (m, fail) => {
        if (m.type !== 'report') return;
        reports.push(m as unknown as Report);
        onStep(m as unknown as Report).catch(fail);
      },
    });
    return reports;
  } finally {
    await manager.stopPart();
  }
}

describe('xhelper.stop: the part stops a selection the manager serves', () => {
  it('the part\'s clipboard pastes into the cage; disposed, the cage\'s selections no longer hold the paste', async () => {
    const seen: Record<string, string> = {};
    const reports = await runPart('dispose', async (r) => {
      if (r.step !== 'pasted') return;
      seen.clipboard = await inCage('clipboard');
      seen.primary = await inCage('primary');
      writeFileSync(join(manager.root, 'go-dispose'), '');
    });
    console.log(JSON.stringify(reports), JSON.stringify(seen));
    expect(reports.find((r) => r.step === 'pasted')).toMatchObject({ clipboard: 'collé puis retiré', primary: 'collé puis retiré' });
    expect(seen).toEqual({ clipboard: 'collé puis retiré', primary: 'collé puis retiré' });
    expect(reports.find((r) => r.step === 'disposed')).toMatchObject({ clipboard: 'empty', primary: 'empty' });
    expect(await inCage('clipboard')).toBe('');
    expect(await inCage('primary')).toBe('');
    expect(manager.refusals()).toEqual([]);
  }, 120_000);

  it('a compromised part stopping high\'s xclip by naming low, low\'s by naming high, or a connection never answered: refused or nothing stopped, the cage keeps both texts', async () => {
    const before = manager.refusals().length;
    const reports = await runPart('attack');
    console.log(JSON.stringify(reports));
    expect(reports.find((r) => r.step === 'served')).toMatchObject({ clipboard: 'servi pour low', primary: 'servi pour high' });
    expect(reports.find((r) => r.step === 'stops')).toMatchObject({
      highNamingLow: { ok: false, code: 'POLICY_DENIED' },
      lowNamingHigh: { ok: false, code: 'POLICY_DENIED' },
      never: { ok: true, result: { stopped: false } },
    });
    expect(reports.find((r) => r.step === 'after')).toMatchObject({ clipboard: 'servi pour low', primary: 'servi pour high' });
    expect(await inCage('clipboard')).toBe('servi pour low');
    expect(await inCage('primary')).toBe('servi pour high');
    expect(manager.refusals().slice(before)).toEqual([expect.objectContaining({ op: 'xhelper.stop', peerUid: manager.cloison.uid }), expect.objectContaining({ op: 'xhelper.stop', peerUid: manager.cloison.uid })]);
  }, 120_000);
});
