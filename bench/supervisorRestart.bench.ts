/**
 * Supervisor restart: from starting the built supervisor until a viewer has each cage's ServerInit
 * through the gateway, when the supervisor before it was killed with SIGKILL and both cages are
 * re-adopted — against a cold start in the same run (the cages started afresh, homes kept, as a
 * user's every-day start). Goal: the restart within 0.5x the cold start.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { testRoot } from '../supervisor/testing/realCage';
import { runSupervisor, viewerConnects, type SupervisorRun } from '../supervisor/testing/supervisorRun';
import { twoLevelPolicy } from '../supervisor/testing/testPolicy';
import { fmt, median } from './lib/stats';

const RUNS = 3;
const cage = (uid: number) => `{ driver: bwrap, network: none, geometry: 1024x640, uid: ${uid}, apps: [[xterm, -geometry, 120x40+0+0]] }`;

export interface SupervisorRestartResult {
  coldMs: number[];
  restartMs: number[];
}

export async function runSupervisorRestartBench(log: (line: string) => void): Promise<SupervisorRestartResult> {
  const root = testRoot('cloison-bench-');
  const policy = join(root, 'p.yaml');
  writeFileSync(policy, twoLevelPolicy({ low: cage(59891), high: cage(59892) }));
  const [state, run] = [join(root, 'state'), join(root, 'run')];
  const untilViewers = async (): Promise<{ sup: SupervisorRun; ms: number }> => {
    const t0 = performance.now();
    const sup = await runSupervisor(policy, state, run);
    await Promise.all(['low', 'high'].map((level) => viewerConnects(run, sup.origin, level)));
    return { sup, ms: performance.now() - t0 };
  };
  const stopped = async (sup: SupervisorRun, signal: NodeJS.Signals) => {
    sup.child.kill(signal);
    await new Promise((r) => sup.child.once('exit', r));
  };
  const result: SupervisorRestartResult = { coldMs: [], restartMs: [] };
  try {
    // The first start makes the homes' images: not measured.
    await stopped((await untilViewers()).sup, 'SIGTERM');
    for (let i = 0; i < RUNS; i++) {
      const cold = await untilViewers();
      result.coldMs.push(cold.ms);
      await stopped(cold.sup, 'SIGKILL');
      const restart = await untilViewers();
      result.restartMs.push(restart.ms);
      await stopped(restart.sup, 'SIGTERM'); // stops the cages: the next round starts cold
      log(`run ${i + 1}: cold ${fmt(cold.ms)} ms, restart with re-adoption ${fmt(restart.ms)} ms`);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  log(`median: cold ${fmt(median(result.coldMs))} ms, restart ${fmt(median(result.restartMs))} ms, ratio ${(median(result.restartMs) / median(result.coldMs)).toFixed(2)} (goal ≤ 0.5)`);
  return result;
}
