/**
 * A cage flooding its sound: a true process of the cage writes zeros into its playback FIFO as fast
 * as it can. The sound part (the supervisor's unprivileged relay) reads that FIFO no faster than the
 * stream's format allows (with a margin): past that the FIFO fills and the cage's writer waits in
 * the kernel, at no cost to the sound part nor the supervisor. The stream's sound itself still plays (what the
 * cage's own server writes at its rate fits the budget). Latency under the flood is measured in
 * bench/soundFlood.bench.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CAGE_SOUND_DIR, SOUND_FORMAT } from '../cages/cageSound';
import { SOUND_BUDGET_MARGIN, soundBudget } from './soundRelay';
import type { Supervisor } from '../supervisor';
import { startHostSoundServer, type HostSoundServer } from '../testing/hostSoundServer';
import { cageShell, innerPidOf, testRoot } from '../testing/realCage';
import { bwrapCage, twoLevelPolicy, vncCage } from '../testing/testPolicy';
import { startTestSupervisor, type TestSupervisor } from '../testing/testSupervisor';
import { waitFor } from '../testing/waitFor';

const UID = 59951;
const FLOOD_SECONDS = 4;
/**
 * A pipe holds 64 KiB; the relay reads at most 64 KiB past its budget before it stops; and dd counts
 * in whole 64 KiB blocks, timed by its own clock, which starts before the relay's first read.
 */
const SLACK_BYTES = 3 * 64 * 1024;

describe('a cage flooding its sound', () => {
  const root = testRoot('cloison-flood-');
  let host: HostSoundServer;
  let t: TestSupervisor;
  let sup: Supervisor;

  beforeAll(async () => {
    host = await startHostSoundServer();
    t = await startTestSupervisor(twoLevelPolicy({ low: bwrapCage({ uid: UID }), high: vncCage('/nonexistent/vnc.sock') }), { root, hostSound: host.target });
    sup = t.sup;
    await waitFor(() => sup.audio.view().levels.find((l) => l.level === 'low')?.available === true, 'low relayed');
  }, 60_000);
  afterAll(async () => {
    await t?.stop();
    host?.stop();
  });

  it('is read no faster than its format with a margin; the writer waits in the kernel meanwhile', async () => {
    const shell = cageShell(innerPidOf(sup, 'low'), UID);
    // dd reports what it wrote on SIGUSR1; its state and its system call say where it is meanwhile.
    const flood = await shell(
      `dd if=/dev/zero of=${CAGE_SOUND_DIR}/out.fifo bs=64k 2>$HOME/dd.txt & p=$!; sleep ${FLOOD_SECONDS / 2}; ` +
        `echo "state $(cut -d' ' -f3 /proc/$p/stat) syscall $(cut -d' ' -f1 /proc/$p/syscall)"; sleep ${FLOOD_SECONDS / 2}; ` +
        `kill -USR1 $p; sleep 0.2; kill $p; wait $p; cat $HOME/dd.txt`,
      (FLOOD_SECONDS + 10) * 1000,
    );
    const [, bytes, seconds] = /^(\d+) bytes .* copied, ([\d.]+) s/m.exec(flood.stdout) ?? [];
    const written = Number(bytes);
    const budget = soundBudget();
    const bound = budget.burstBytes + budget.bytesPerSecond * Number(seconds) + SLACK_BYTES;
    console.log(`sound flood: the cage wrote ${(written / 2 ** 20).toFixed(2)} MiB in ${seconds} s (bound ${(bound / 2 ** 20).toFixed(2)} MiB: ${SOUND_BUDGET_MARGIN}x ${SOUND_FORMAT.rate} Hz stereo s16le)`);
    expect(written).toBeLessThanOrEqual(bound);
    expect(flood.stdout).toMatch(/state S syscall 1\n/); // asleep in write(2) on the full FIFO, not spinning
  }, 60_000);
});
