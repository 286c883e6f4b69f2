/**
 * LibreOffice keeps recent work in a cage stopped hard (officeFirstStart.ts: AutoRecovery every
 * minute). The walk-through that found it: Writer with unsaved text, the stop's bound passed under
 * its "save changes?", the cage stopped; the next start's Document Recovery offered "Sans nom 1"
 * empty. Here, as a user's day ends by a power loss: Writer, a new document, text typed into it
 * through the cage's display, a little over a minute of nothing, then every process of the cage
 * killed at once (SIGKILL, from outside: nothing told, nothing flushed) and the supervisor started
 * again on the same state. The profile's recovery list names the document, the recovery
 * copy it names (in the cage's home, read in the cage) holds the text, and the next Writer offers
 * Document Recovery.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { skipWhen, skipWhenMissing } from '../testing/skipWithReason';
import { launch, run } from '../cages/cageLauncher';
import { findBinary } from '../system/binaries';
import { cageProcess, processesInCage } from '../testing/cageProcesses';
import { launcherShell } from '../testing/realCage';
import { testRoot } from '../testing/testRoots';
import { bwrapCage, twoLevelPolicy } from '../testing/testPolicy';
import { startTestSupervisor, type TestSupervisor } from '../testing/testSupervisor';
import { waitFor } from '../testing/waitFor';
import type { RunningCage } from '../cages/cageDriver';

const LOW_UID = 56930;
const HIGH_UID = 56931;
const LIMITS = 'homeBytes: 256MiB, memoryBytes: 3GiB';
const POLICY = twoLevelPolicy({
  low: bwrapCage({ uid: LOW_UID }),
  high: bwrapCage({ uid: HIGH_UID, geometry: '1024x640', apps: '[{ id: writer, exec: [libreoffice, --writer], autostart: false }]', limits: LIMITS }).replace(/ }$/, ', appQuitSeconds: 0 }'),
});
const TEXT = 'Texte du jour lorecover treize';
const PROFILE = '.config/libreoffice/4/user';

/** The recovery copies LibreOffice's recovery list names (each item's TempURL), read in the cage: their text. */
async function recoveredTexts(cage: RunningCage): Promise<string[]> {
  const sh = launcherShell(cage);
  const xcu = (await sh(`cat "$HOME/${PROFILE}/registrymodifications.xcu"`)).stdout;
  const urls = [...xcu.matchAll(/Office\.Recovery\/RecoveryList"><node oor:name="[^"]+" oor:op="replace">.*?<prop oor:name="TempURL" oor:op="fuse"><value>file:\/\/([^<]+)</g)].map((m) => decodeURIComponent(m[1]!));
  const texts: string[] = [];
  for (const path of urls) texts.push((await sh(`unzip -p '${path.replace(/'/g, '')}' content.xml`)).stdout.replace(/<[^>]+>/g, ' '));
  return texts;
}

/** The names of the cage's visible windows. */
async function windowNames(cage: RunningCage): Promise<string> {
  return (await launcherShell(cage)('xdotool search --onlyvisible --name . getwindowname %@ 2>/dev/null')).stdout;
}

const startedAt = Date.now();
const step = (what: string) => console.log(`${Math.round((Date.now() - startedAt) / 1000)} s: ${what}`);

const missing = ['libreoffice', 'xdotool', 'unzip'].filter((p) => !findBinary(p));

describe('LibreOffice in a cage stopped hard', missing.length ? skipWhenMissing(missing) : skipWhen(process.getuid?.() !== 0 && 'run as root: real cages'), () => {
  let t: TestSupervisor | null = null;
  const root = testRoot('cloison-lorecover13-');
  afterAll(async () => {
    await t?.stop();
  }, 120_000);

  it('keeps the text typed a minute before a power loss: the next start has it to recover', async () => {
    t = await startTestSupervisor(POLICY, { root });
    let cage = t.sup.cages.get('high')!.cage!;
    expect((await launcherShell(cage)(`cat "$HOME/${PROFILE}/registrymodifications.xcu"`)).stdout).toMatch(/Save\/Document"><prop oor:name="AutoSaveTimeIntervall" oor:op="fuse"><value>1</);
    await launch(cage, { argv: ['libreoffice', '--writer'] });
    await waitFor(async () => /LibreOffice Writer/.test(await windowNames(cage)), 'Writer', 150_000, 1000);
    await new Promise((r) => setTimeout(r, 5000)); // Writer's first start settles (its profile written)
    // Into the page: the window activated, a click in the document's area, then the keys.
    const typed = await run(cage, { argv: ['xdotool', 'search', '--onlyvisible', '--name', 'LibreOffice Writer', 'windowactivate', '--sync', 'mousemove', '--window', '%1', '500', '350', 'click', '1', 'sleep', '0.5', 'type', '--delay', '40', TEXT], timeoutMs: 30_000 });
    expect(typed.code, typed.stderr).toBe(0);
    const typedAt = Date.now();
    // AutoRecovery's minute (and a margin on a loaded machine): its copy holds the text.
    await waitFor(async () => (await recoveredTexts(cage)).some((x) => x.includes(TEXT)), 'a recovery copy holding the text', 180_000, 2000).catch(async (err: Error) => {
      const seen = await launcherShell(cage)(`ls -la "$HOME/${PROFILE}/backup"; grep -o 'Save/Document.\\{0,200\\}' "$HOME/${PROFILE}/registrymodifications.xcu"; grep -o 'Office.Recovery/RecoveryList.*' "$HOME/${PROFILE}/registrymodifications.xcu" | head -c 1500`);
      throw new Error(`${err.message}: windows ${await windowNames(cage)}; ${seen.stdout} ${seen.stderr}`);
    });
    const savedAfterMs = Date.now() - typedAt;
    step(`recovery copy seen ${Math.round(savedAfterMs / 1000)} s after the typing`);

    // Power lost: every process of the cage killed at once from outside (SIGKILL), none told,
    // nothing flushed; then the supervisor stopped, as the machine's next boot starts it again.
    const inCage = processesInCage(cage.innerPid!);
    expect(inCage.some((p) => /soffice\.bin/.test(p.command)), inCage.map((p) => p.command).join('\n')).toBe(true);
    for (const p of inCage) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        // gone already
      }
    }
    await waitFor(async () => inCage.every((p) => cageProcess(p.pid) === null), 'the cage gone', 30_000, 200);
    step(`cage killed (${inCage.length} processes)`);
    // The supervisor alone (its state kept for the next start); the test's own RPC link closed first,
    // or the supervisor's socket waits on it.
    t.rpc.close();
    await t.sup.stop();
    step('supervisor stopped');

    t = await startTestSupervisor(POLICY, { root });
    step('supervisor started again');
    cage = t.sup.cages.get('high')!.cage!;
    const xcu = readFileSync(join(t.home('high'), PROFILE, 'registrymodifications.xcu'), 'utf8');
    expect(xcu, 'the recovery list names the document').toMatch(/Office\.Recovery\/RecoveryList"><node oor:name="recovery_item_\d+"/);
    const texts = await recoveredTexts(cage);
    expect(texts.some((x) => x.includes(TEXT)), JSON.stringify(texts)).toBe(true);
    // And the user's next Writer offers it: LibreOffice's Document Recovery (in French here: "Récupération de document LibreOffice 7.4").
    await launch(cage, { argv: ['libreoffice', '--writer'] });
    let windows = '';
    await waitFor(async () => /Document Recovery|Récupération de document/.test((windows = await windowNames(cage))), 'Document Recovery', 150_000, 1000).catch((err: Error) => {
      throw new Error(`${err.message}: windows ${windows}`);
    });
    console.log(`recovery copy written ${Math.round(savedAfterMs / 1000)} s after the typing; the next start's windows: ${windows.trim().replace(/\n/g, ' | ')}; load ${readFileSync('/proc/loadavg', 'utf8').trim()}`);
  }, 600_000);
});
