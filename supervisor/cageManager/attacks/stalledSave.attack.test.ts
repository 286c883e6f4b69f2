/**
 * Attack (attack-2): a cut policy taken as settled. The manager reads its file only once it has
 * not been written for SETTLED_MS (settledPolicyText.ts), so that a compromised `cloison` part,
 * watching the world-readable file, cannot have a half-saved policy applied by asking
 * `policy.reload` at the right moment. But "not written for a second" is not "written whole": an
 * in-place save fed by something slower than the disk — `ssh host cat policy.yaml | sudo tee
 * /etc/cloison/policy.yaml`, `scp` over a link that stalls, an administrator pasting into `sudo
 * tee` — leaves the file cut for longer than that, and the part (inotify tells it when the writes
 * stop) asks then: the manager applies what the file holds so far. Here the cut falls between two
 * levels: the cut file is a valid policy without its second level, and the manager takes it (the
 * dropped level's cage is stopped, managerMain.ts's applyPolicy). Now the part's request is
 * refused: the manager reads its file again only at its SIGHUP, the administrator's moment.
 */
import { closeSync, openSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { removeTestRoots, testRoot } from '../../testing/testRoots';
import { bwrapCage, twoLevelPolicy } from '../../testing/testPolicy';
import { ManagerPolicyReload } from '../managerPolicyReload';
import { SETTLED_MS } from '../settledPolicyText';

const BEFORE = twoLevelPolicy({ low: bwrapCage({ uid: 58880 }), high: bwrapCage({ uid: 58881 }) });
/** The new policy the administrator saves: the same levels, the high cage's geometry changed. */
const AFTER = BEFORE.replace(/(- id: high[\s\S]*?geometry: )640x480/, '$11024x768');

afterAll(() => removeTestRoots());

describe('the manager\'s policy file, saved in place by a writer that stalls', () => {
  it('is not applied cut when the part asks during the stall', async () => {
    expect(AFTER).not.toBe(BEFORE);
    const file = join(testRoot('cloison-stall-'), 'policy.yaml');
    writeFileSync(file, BEFORE);
    utimesSync(file, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
    const applied: string[][] = [];
    const reload = new ManagerPolicyReload({ file, text: BEFORE, journal: { append: () => ({}) as never }, apply: (p) => applied.push(p.levels.map((l) => l.id)), log: () => undefined });

    // The save: truncated, the first level written, then the writer's input stalls.
    const fd = openSync(file, 'w');
    try {
      writeSync(fd, AFTER.slice(0, AFTER.indexOf('  - id: high')));
      await new Promise((r) => setTimeout(r, SETTLED_MS + 200));
      // The part: the writes stopped a second ago.
      const answer = await reload.executor()();
      // The rest of the save arrives.
      writeSync(fd, AFTER.slice(AFTER.indexOf('  - id: high')));
      expect(applied).toEqual([]);
      expect(answer.accepted).toBe(false);
    } finally {
      closeSync(fd);
    }
    // The administrator's reload (SIGHUP), once the save is whole and settled: the whole policy.
    utimesSync(file, new Date(Date.now() - 2000), new Date(Date.now() - 2000));
    expect(await reload.reload('SIGHUP')).toMatchObject({ accepted: true });
    expect(applied).toEqual([['low', 'high']]);
  }, 30_000);
});
