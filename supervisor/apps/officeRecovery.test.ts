/**
 * LibreOffice keeps recent work in a cage stopped hard (officeFirstStart.ts: AutoRecovery every
 * minute). The walk-through that found it: Writer with unsaved text, the stop's bound passed under
 * its "save changes?", the cage stopped; the next start's Document Recovery offered "Sans nom 1"
 * empty (LibreOffice's default saves a recovery copy every 10 minutes). Here: Writer, a new document,
 * text typed, a little over a minute, then the cage stopped with no asking at all (appQuitSeconds: 0,
 * the hardest stop the supervisor makes) and the supervisor started again on the same state: the
 * profile's recovery list names the document and the recovery copy it names holds the text.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { skipWhen, skipWhenMissing } from '../testing/skipWithReason';
import { launch, run } from '../cages/cageLauncher';
import { findBinary } from '../system/binaries';
import { launcherShell } from '../testing/realCage';
import { testRoot } from '../testing/testRoots';
import { bwrapCage, twoLevelPolicy } from '../testing/testPolicy';
import { startTestSupervisor, type TestSupervisor } from '../testing/testSupervisor';
import { waitFor } from '../testing/waitFor';
import type { RunningCage } from '../cages/cageDriver';

const HIGH_UID = 56911;
const LIMITS = 'homeBytes: 256MiB, memoryBytes: 3GiB';
const POLICY = twoLevelPolicy({
  low: bwrapCage({ uid: 56910 }),
  high: bwrapCage({ uid: HIGH_UID, geometry: '1024x640', apps: '[{ id: writer, exec: [libreoffice, --writer], autostart: false }]', limits: LIMITS }).replace(/ }$/, ', appQuitSeconds: 0 }'),
});
const TEXT = 'Texte du jour stopnotice douze';
const PROFILE = '.config/libreoffice/4/user';

/** The recovery copies LibreOffice's recovery list names (each item's TempURL), read in the cage: their text. */
async function recoveredTexts(cage: RunningCage): Promise<string[]> {
  const sh = launcherShell(cage);
  const xcu = (await sh(`cat "$HOME/${PROFILE}/registrymodifications.xcu"`)).stdout;
  const urls = [...xcu.matchAll(/Office\.Recovery\/RecoveryList"><node oor:name="[^"]+" oor:op="replace"><prop oor:name="TempURL" oor:op="fuse"><value>file:\/\/([^<]+)</g)].map((m) => decodeURIComponent(m[1]!));
  const texts: string[] = [];
  for (const path of urls) texts.push((await sh(`unzip -p '${path.replace(/'/g, '')}' content.xml`)).stdout.replace(/<[^>]+>/g, ' '));
  return texts;
}

const missing = ['libreoffice', 'xdotool', 'unzip'].filter((p) => !findBinary(p));

describe('LibreOffice in a cage stopped hard', missing.length ? skipWhenMissing(missing) : skipWhen(process.getuid?.() !== 0 && 'run as root: real cages'), () => {
  let t: TestSupervisor | null = null;
  const root = testRoot('cloison-stopnotice12-');
  afterAll(async () => {
    await t?.stop();
  }, 120_000);

  it('keeps the text typed a minute before: the next start has it to recover', async () => {
    t = await startTestSupervisor(POLICY, { root });
    const cage = t.sup.cages.get('high')!.cage!;
    expect((await launcherShell(cage)(`cat "$HOME/${PROFILE}/registrymodifications.xcu"`)).stdout).toMatch(/TimeIntervall" oor:op="fuse"><value>1</);
    await launch(cage, { argv: ['libreoffice', '--writer'] });
    await waitFor(async () => /LibreOffice Writer/.test((await launcherShell(cage)('xdotool search --name "LibreOffice Writer" getwindowname %@ 2>/dev/null')).stdout), 'Writer', 150_000, 1000);
    await new Promise((r) => setTimeout(r, 8000)); // Writer's first start settles (its profile written)
    // Into the page: the window activated, a click in the document's area, then the keys.
    const typed = await run(cage, { argv: ['xdotool', 'search', '--onlyvisible', '--name', 'LibreOffice Writer', 'windowactivate', '--sync', 'mousemove', '--window', '%1', '500', '350', 'click', '1', 'sleep', '0.5', 'type', '--delay', '40', TEXT], timeoutMs: 30_000 });
    expect(typed.code, typed.stderr).toBe(0);
    const typedAt = Date.now();
    // AutoRecovery's minute (and a margin on a loaded machine): its copy holds the text.
    await waitFor(async () => (await recoveredTexts(cage)).some((x) => x.includes(TEXT)), 'a recovery copy holding the text', 150_000, 2000).catch(async (err: Error) => {
      const seen = await launcherShell(cage)(`xdotool search --onlyvisible --name 'LibreOffice Writer' windowactivate --sync key ctrl+a ctrl+c; sleep 1; echo "document: $(timeout 3 xclip -o -selection clipboard)"; xdotool search --onlyvisible --name . getwindowname %@; grep -o 'Office.Recovery/RecoveryList.*' "$HOME/${PROFILE}/registrymodifications.xcu" | head -c 2000`);
      throw new Error(`${err.message}: ${seen.stdout} ${seen.stderr}`);
    });
    const savedAfterMs = Date.now() - typedAt;

    // Stopped hard: no application asked (appQuitSeconds: 0), Writer's copy is all there is.
    await t.sup.stop();
    t = await startTestSupervisor(POLICY, { root });
    const xcu = readFileSync(join(t.home('high'), PROFILE, 'registrymodifications.xcu'), 'utf8');
    expect(xcu, 'the recovery list names the document').toMatch(/Office\.Recovery\/RecoveryList"><node oor:name="recovery_item_\d+"/);
    const texts = await recoveredTexts(t.sup.cages.get('high')!.cage!);
    expect(texts.some((x) => x.includes(TEXT)), JSON.stringify(texts)).toBe(true);
    console.log(`recovery copy written ${Math.round(savedAfterMs / 1000)} s after the typing; load ${readFileSync('/proc/loadavg', 'utf8').trim()}`);
  }, 400_000);
});
