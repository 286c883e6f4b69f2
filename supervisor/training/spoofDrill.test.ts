/**
 * The spoof drill against a hostile cage: the look-alike the trainer's drill paints is a true cage
 * process and reads no configuration the cage planted (its X resources in the home or on its
 * display: printerCommand with autoprint ran the cage's script outside the filter); every process
 * in the cage's namespaces carries the filter and the cage's control group while it shows; what the
 * trainee typed into it is gone when the drill ends; the count comes from the trusted side.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LevelView } from '../../shared/rpc';
import type { Drill } from '../../shared/trainingScenario';
import { run } from '../cages/cageLauncher';
import { processesInCage } from '../testing/cageProcesses';
import { startRealCage, type RealCage } from '../testing/realCage';
import { waitFor } from '../testing/waitFor';
import type { DrillContext } from './drills/drill';
import { startSpoofDrill } from './drills/spoofDrill';
import { SPOOF_MARK } from '../cages/trainingPrograms';

const LEVELS = [
  { id: 'low', label: { fr: 'Bas', en: 'Low' }, colour: '#2e7d32', textColour: '#ffffff' },
  { id: 'high', label: { fr: 'Haut', en: 'High' }, colour: '#b71c1c', textColour: '#ffffff' },
] as unknown as LevelView[];

const DRILL: Extract<Drill, { kind: 'spoof' }> = { kind: 'spoof', level: 'low', look: 'lock', afterSeconds: 0, timeLimitSeconds: 60, card: { fr: 'Restez dans Bas', en: 'Stay in Low' } };

/** What the planted script records about itself, if it ever runs. */
const EVIL_SCRIPT = `{ grep -E '^(Seccomp|NoNewPrivs|CapEff):' /proc/self/status; cat /proc/self/cgroup; unshare -U true && echo user-namespace-made; } > "$HOME/.pwned" 2>&1`;

describe('spoof drill in a hostile cage', () => {
  let cage: RealCage;
  let keyPresses = 0;
  const sh = async (script: string) => (await run(cage.cage, { argv: ['sh', '-c', script] })).stdout;
  const context: DrillContext = {
    levels: LEVELS,
    cage: (level) => (level === 'low' ? cage.cage : null),
    keyPresses: () => keyPresses,
    writeClipboard: () => Promise.reject(new Error('no clipboard in this test')),
    plugKey: () => Promise.reject(new Error('no keys in this test')),
    deviceSettled: async () => undefined,
    now: () => Date.now(),
  };
  const lookAlikeShown = () => waitFor(async () => (await sh(`pgrep -f ${SPOOF_MARK} || true`)).trim() !== '', 'the look-alike', 15_000);

  beforeAll(async () => {
    cage = await startRealCage({ level: 'low', geometry: '1024x640' });
    await sh(`printf '%s\\n' ${JSON.stringify(EVIL_SCRIPT)} > "$HOME/.evil.sh"`);
  }, 60_000);
  afterAll(async () => {
    await cage?.stop();
  });

  it.each([
    ['in the home (~/.Xdefaults, ~/.Xdefaults-HOST, ~/XTerm)', `for f in .Xdefaults .Xdefaults-cloison-low XTerm; do printf '*printerCommand: sh /home/cloison/.evil.sh\\n*printerControlMode: 1\\n' > "$HOME/$f"; done`],
    ['on the display (RESOURCE_MANAGER, as xrdb sets it)', `printf '*printerCommand: sh /home/cloison/.evil.sh\\n*printerControlMode: 1\\n' | DISPLAY=:0 xrdb -merge`],
  ])('X resources planted %s run nothing, and every process of the cage is a cage process', async (_where, plant) => {
    await sh(`rm -f "$HOME/.pwned"; ${plant}`);
    const drill = await startSpoofDrill(DRILL, context);
    await lookAlikeShown();
    // Autoprint would run printerCommand at the look-alike's first line feed: give it time.
    await new Promise((r) => setTimeout(r, 2000));
    const session = processesInCage(cage.cage.innerPid!).find((p) => p.command.startsWith('Xvnc'))!;
    const processes = processesInCage(cage.cage.innerPid!);
    expect(processes.some((p) => p.command.includes(SPOOF_MARK))).toBe(true);
    for (const p of processes) {
      expect({ command: p.command, seccomp: p.seccomp, noNewPrivs: p.noNewPrivs, capEff: p.capEff, cgroup: p.cgroup }).toEqual({ command: p.command, seccomp: 2, noNewPrivs: 1, capEff: '0000000000000000', cgroup: session.cgroup });
      if (p.innerPid !== 1) expect(p.uid, p.command).toBe(cage.uid); // 1: bwrap's init, no capability
    }
    expect(await sh('cat "$HOME/.pwned" 2>/dev/null || echo "nothing ran"')).toBe('nothing ran\n');
    await drill.conclude(true);
    await sh('rm -f "$HOME/.Xdefaults" "$HOME/.Xdefaults-cloison-low" "$HOME/XTerm"; DISPLAY=:0 xprop -root -remove RESOURCE_MANAGER');
  });

  /** Shows the look-alike, types a password into it as the trainee would, and lets `meanwhile` act as the cage. */
  async function typeIntoLookAlike(meanwhile = ''): Promise<Awaited<ReturnType<Awaited<ReturnType<typeof startSpoofDrill>>['conclude']>>> {
    const drill = await startSpoofDrill(DRILL, context);
    await lookAlikeShown();
    await new Promise((r) => setTimeout(r, 1000));
    // xdotool on the cage's display types into the focused fake; the gateway counted the presses.
    await sh('DISPLAY=:0 xdotool type --delay 20 "MotDePasseSecret7"; DISPLAY=:0 xdotool key Return');
    keyPresses += 18;
    if (meanwhile) await sh(meanwhile);
    return drill.conclude(true);
  }

  it('what the trainee typed into the look-alike is gone from the cage when the drill ends', async () => {
    await typeIntoLookAlike();
    expect(processesInCage(cage.cage.innerPid!).filter((p) => p.command.includes(SPOOF_MARK))).toEqual([]);
    // The pattern is a regular expression that does not match its own text: the search never finds itself.
    expect(await sh('grep -rlasE "MotDePasse[S]ecret7" "$HOME" /tmp /var/tmp /dev/shm; grep -lasE "MotDePasse[S]ecret7" /proc/[0-9]*/cmdline /proc/[0-9]*/environ; echo searched')).toBe('searched\n');
  });

  it('the count of keys typed into the look-alike is the trusted side\'s: the cage cannot fake it', async () => {
    const before = keyPresses;
    // The cage empties the file the old drill counted from, and plants a link in its place.
    const outcome = await typeIntoLookAlike('sleep 0.3; rm -f "$HOME/.cloison-training-typed"; ln -s /dev/null "$HOME/.cloison-training-typed"');
    expect(outcome.typedIntoFake).toBe(keyPresses - before);
    expect(outcome.passed).toBe(false);
    await sh('rm -f "$HOME/.cloison-training-typed"');
  });
});
