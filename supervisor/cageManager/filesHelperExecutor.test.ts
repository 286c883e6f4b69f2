/**
 * `files.helper` from the unprivileged part to a level's home: a real process of the `cloison`
 * account (cloisonPart.ts, as the manager starts it) asks the manager's socket for a level's file
 * helper, takes the channel handed over SCM_RIGHTS, and speaks the helper's requests over it: it
 * lists the home, writes a file there (owned by the level's uid), and cannot leave it. Another
 * level's uid, uid 0, a level the policy does not name, a level whose home is not mounted: refused,
 * journaled, no helper started. The first three are the authorization's (requestAuthorization.ts
 * checks the uid against the level's): an executor starting the helper as the uid asked, on the
 * level's home whether mounted or not, was refused them too; it started a helper, as high's uid,
 * on high's unmounted home folder (the state's root-owned folder: the write was refused, EACCES).
 * Now refused before any helper starts. A part sending a write's commit twice crashed the serving
 * helper (write after end) before the helper took one commit only.
 */
import { spawnSync } from 'node:child_process';
import { chownSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isMountPoint } from '../cages/cageMounts';
import { serveManagerToCloison, type ServedManager } from '../testing/managerServedToCloison';
import { bwrapCage, twoLevelPolicy } from '../testing/testPolicy';
import { filesHelperExecutor } from './filesHelperExecutor';

const LOW_UID = 58780;
const HIGH_UID = 58781;
const POLICY = twoLevelPolicy({ low: bwrapCage({ uid: LOW_UID }), high: bwrapCage({ uid: HIGH_UID }) });

let manager: ServedManager;
let helpers: ReturnType<typeof filesHelperExecutor>;
const home = (level: string) => join(manager.folders.stateDir, 'cages', level, 'home');

beforeAll(async () => {
  manager = await serveManagerToCloison({
    prefix: 'cloison-fh-',
    policy: POLICY,
    executors: ({ policy, folders, part }) => ({ 'files.helper': (helpers = filesHelperExecutor({ policy, ...folders, part })) }),
  });
  for (const [level, uid] of [['low', LOW_UID], ['high', HIGH_UID]] as const) {
    mkdirSync(home(level), { recursive: true });
    if (level === 'low') {
      // A small home of its own (a tmpfs stands for the level's mounted image).
      expect(spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=4m,mode=0700', 'tmpfs', home(level)]).status).toBe(0);
      chownSync(home(level), uid, uid);
      writeFileSync(join(home(level), 'note.txt'), 'low note');
      chownSync(join(home(level), 'note.txt'), uid, uid);
    }
  }
  writeFileSync(join(manager.folders.stateDir, 'cages', 'high', 'secret.txt'), 'high secret');
}, 60_000);

afterAll(async () => {
  await manager?.close(() => {
    helpers?.stop();
    if (isMountPoint(home('low'))) spawnSync('umount', ['-l', home('low')]);
  });
});

type Report = { level: string; uid: number; error?: string; answers?: Array<{ out: string; exit: number; stderr: string }> };

async function asPart(asks: Array<{ level: string; uid: number; keep?: boolean; requests: Array<{ mode: string; args: string[]; data?: string }> }>): Promise<Report[]> {
  const reports: Report[] = [];
  await manager.runPart(join(__dirname, '../testing/filesHelperRequester.ts'), { managerSocket: manager.socketPath, asks }, {
    message: (m) => void (m.type === 'report' && reports.push(m as unknown as Report)),
  });
  await manager.stopPart();
  return reports;
}

describe('files.helper, from the unprivileged part to a level\'s home', () => {
  it('hands the helper\'s channel over: the part lists the home and writes a file owned by the level\'s uid; it cannot leave the home', async () => {
    const [low] = await asPart([{ level: 'low', uid: LOW_UID, requests: [
      { mode: 'list', args: [''] },
      { mode: 'write', args: ['Documents', 'from-part.txt'], data: Buffer.from('written by the part').toString('base64') },
      { mode: 'read', args: ['../high/secret.txt', '{}'] },
      { mode: 'list', args: ['/'] },
    ] }]);
    console.log(JSON.stringify(low));
    expect(low!.error).toBeUndefined();
    const [list, write, escape, absolute] = low!.answers!;
    expect(list!.exit).toBe(0);
    expect(JSON.parse(list!.out)).toEqual([{ name: 'note.txt', kind: 'file', size: 8 }]);
    expect(write).toMatchObject({ exit: 0 });
    expect(write!.out).toContain('"name":"from-part.txt"');
    const written = join(home('low'), 'Documents', 'from-part.txt');
    expect(readFileSync(written, 'utf8')).toBe('written by the part');
    expect(statSync(written)).toMatchObject({ uid: LOW_UID, gid: LOW_UID });
    expect(escape).toMatchObject({ exit: 2, stderr: '".." leaves the home' });
    expect(absolute).toMatchObject({ exit: 2, stderr: 'absolute paths leave the home' });
  }, 60_000);

  it('refuses another level\'s uid, uid 0, a level the policy does not name, a home not mounted: journaled, nothing written', async () => {
    const seen = manager.refusals().length;
    const write = { mode: 'write', args: ['', 'planted.txt'], data: Buffer.from('planted').toString('base64') };
    const reports = await asPart([
      { level: 'low', uid: HIGH_UID, requests: [write] },
      { level: 'low', uid: 0, requests: [write] },
      { level: 'secret', uid: LOW_UID, requests: [write] },
      { level: 'high', uid: HIGH_UID, requests: [write] },
    ]);
    console.log(JSON.stringify(reports));
    expect(reports.map((r) => r.error)).toEqual([
      `uid ${HIGH_UID} is not level low's (${LOW_UID})`,
      `uid 0 is not level low's (${LOW_UID})`,
      'no level "secret" in the running policy',
      'level high\'s home is not mounted',
    ]);
    expect(manager.refusals().slice(seen).map((r) => r.actor)).toEqual(['cloison', 'cloison', 'cloison', 'cloison']);
    expect(() => statSync(join(home('low'), 'planted.txt'))).toThrow();
    expect(() => statSync(join(home('high'), 'planted.txt'))).toThrow();
  }, 60_000);

  it('refuses a fifth helper for a level while four serve; one closed, another may start', async () => {
    const stat = { mode: 'stat', args: ['note.txt'] };
    const reports = await asPart([1, 2, 3, 4, 5].map(() => ({ level: 'low', uid: LOW_UID, keep: true, requests: [stat] })));
    expect(reports.slice(0, 4).map((r) => r.answers?.[0]?.exit)).toEqual([0, 0, 0, 0]);
    expect(reports[4]!.error).toBe('level low has 4 file helpers serving already: close one first');
    // The part gone, its channels closed: the helpers end, and a new part gets one.
    const [again] = await asPart([{ level: 'low', uid: LOW_UID, requests: [stat] }]);
    expect(again!.answers?.[0]?.exit).toBe(0);
  }, 60_000);
});
