/** What the split gateway benchmark's manager (splitGatewayProcess.ts) and its part (splitGatewayPart.ts) share. */
import { bwrapCage, twoLevelPolicy } from '../../supervisor/testing/testPolicy';

/** The policy both read: the benchmark's endpoint stands for level `low`'s cage. */
export const SPLIT_BENCH_POLICY = twoLevelPolicy({ low: bwrapCage({ uid: 58501 }), high: bwrapCage({ uid: 58502 }) });
export const SPLIT_BENCH_LEVEL = 'low';
export const SPLIT_BENCH_UID = 58501;

export type SplitGatewayPartStart = {
  managerSocket: string;
  /** The endpoint, only for the browser child's warm-up folder name (it never connects there). */
  socketPath: string;
  stateDir: string;
  runDir: string;
  warmUp: string | null;
  nodeFlags: string[];
};
