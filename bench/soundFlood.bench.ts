/**
 * A cage flooding its sound: the supervisor's RPC round trip and CPU while a true process of the
 * cage writes zeros into its playback FIFO as fast as it can, beside the same measures idle, in the
 * same run. Three idle/flooded pairs, interleaved (the machine's other load shifts both alike);
 * each phase's p95, and the median of those. The goal (docs/design.md "Performance budgets"): flooded RPC
 * p95 ≤ 1.25× idle.
 */
import { startSupervisor, type SupervisorProcess } from '../e2e/support/supervisorProcess';
import { cageShellForUid } from '../e2e/support/cageByUid';
import { CAGE_SOUND_DIR } from '../supervisor/cages/cageSound';
import { startHostSoundServer } from '../supervisor/testing/hostSoundServer';
import { rpcClient } from '../supervisor/testing/rpcClient';
import { bwrapCage } from '../supervisor/testing/testPolicy';
import { waitFor } from '../supervisor/testing/waitFor';
import { cpuSecondsOf, processes } from './lib/processCpu';
import { fmt, median, percentile } from './lib/stats';

const UID = 59881;
const PAIRS = 3;
const PHASE_SECONDS = 8;
const CALL_EVERY_MS = 10;

export interface FloodPhase {
  p50: number;
  p95: number;
  max: number;
  supervisorCpuPercent: number;
  /** The sound part's (the supervisor's unprivileged child that reads the cage's FIFO). */
  soundPartCpuPercent: number;
}

export interface SoundFloodResult {
  idle: FloodPhase[];
  flooded: FloodPhase[];
  idleP95: number;
  floodedP95: number;
}

export async function runSoundFloodBench(log: (s: string) => void): Promise<SoundFloodResult> {
  const host = await startHostSoundServer();
  let sup: SupervisorProcess | null = null;
  try {
    const policy = `version: 1\nlevels:\n  - id: low\n    rank: 0\n    label: { fr: Bas, en: Low }\n    colour: "#1b7f3b"\n    cage: ${bwrapCage({ uid: UID })}\n`;
    sup = await startSupervisor(policy, { extraArgs: ['--audio-server', host.target.server] });
    const cage = cageShellForUid(UID);
    await waitFor(async () => (await cage(`PULSE_SERVER=unix:/tmp/pulse/native pactl info`)).code === 0, "the cage's own sound server", 15_000);
    const supervisorPid = sup!.pid;
    const soundPartPid = processes().find((p) => p.ppid === supervisorPid && p.cmd.includes('out/supervisor/soundPart.js'))!.pid;
    const rpc = await rpcClient(sup.rpcSocket);
    const result: SoundFloodResult = { idle: [], flooded: [], idleP95: NaN, floodedP95: NaN };
    try {
      for (let pair = 0; pair < PAIRS; pair++) {
        for (const kind of ['idle', 'flooded'] as const) {
          // The cage's writer: dd, as fast as the FIFO takes it, for the phase and a little more.
          const flood = kind === 'flooded' ? cage(`timeout ${PHASE_SECONDS + 1} dd if=/dev/zero of=${CAGE_SOUND_DIR}/out.fifo bs=64k 2>/dev/null; true`, (PHASE_SECONDS + 10) * 1000) : null;
          if (flood) await new Promise((r) => setTimeout(r, 500));
          const cpu0 = cpuSecondsOf(supervisorPid);
          const partCpu0 = cpuSecondsOf(soundPartPid);
          const t0 = performance.now();
          const trips: number[] = [];
          while (performance.now() - t0 < PHASE_SECONDS * 1000) {
            const s = performance.now();
            const r = await rpc.call('session.describe', {});
            if (!r.ok) throw new Error(`session.describe: ${r.error?.message}`);
            trips.push(performance.now() - s);
            await new Promise((r) => setTimeout(r, CALL_EVERY_MS));
          }
          const seconds = (performance.now() - t0) / 1000;
          const phase = { p50: median(trips), p95: percentile(trips, 95), max: Math.max(...trips), supervisorCpuPercent: ((cpuSecondsOf(supervisorPid) - cpu0) / seconds) * 100, soundPartCpuPercent: ((cpuSecondsOf(soundPartPid) - partCpu0) / seconds) * 100 };
          result[kind].push(phase);
          log(`  ${kind.padEnd(7)} RPC round trip over ${trips.length} calls: median ${fmt(phase.p50)} ms, p95 ${fmt(phase.p95)} ms, max ${fmt(phase.max)} ms; supervisor CPU ${fmt(phase.supervisorCpuPercent, 1)} %, sound part ${fmt(phase.soundPartCpuPercent, 1)} %`);
          await flood;
        }
      }
    } finally {
      rpc.close();
    }
    result.idleP95 = median(result.idle.map((p) => p.p95));
    result.floodedP95 = median(result.flooded.map((p) => p.p95));
    log(
      `  RPC p95, idle ${fmt(result.idleP95)} ms | sound flood ${fmt(result.floodedP95)} ms: ${fmt(result.floodedP95 / result.idleP95)}x (goal ≤ 1.25); ` +
        `supervisor CPU idle ${fmt(median(result.idle.map((p) => p.supervisorCpuPercent)), 1)} % | flooded ${fmt(median(result.flooded.map((p) => p.supervisorCpuPercent)), 1)} %; ` +
        `sound part CPU idle ${fmt(median(result.idle.map((p) => p.soundPartCpuPercent)), 1)} % | flooded ${fmt(median(result.flooded.map((p) => p.soundPartCpuPercent)), 1)} %`,
    );
    return result;
  } finally {
    await sup?.stop();
    host.stop();
  }
}
