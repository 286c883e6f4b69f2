/**
 * Test tool: a test's part script run as the `cloison` part is (cloisonPart.ts: the account, its
 * group's limits), told `start`; what it reports (its `report` messages, by step) gathered until it
 * says `done`, then it is stopped. Rejects, the part stopped, when it ends before.
 */
import { cloisonPart, type CloisonPartOptions } from '../cageManager/cloisonPart';

export type PartReports = Record<string, Record<string, unknown>>;

export interface ReportingPartOptions {
  script: string;
  account: { uid: number; gid: number };
  start: Record<string, unknown>;
  /** Its group's limits, where the test sets them (cloisonPart.ts's by default). */
  limits?: CloisonPartOptions['limits'];
}

export async function partReports(options: ReportingPartOptions): Promise<PartReports> {
  const reports: PartReports = {};
  let settle!: { resolve: () => void; reject: (error: Error) => void };
  const done = new Promise<void>((resolve, reject) => (settle = { resolve, reject }));
  const part = cloisonPart({
    command: { callerUrl: import.meta.url, source: '', bundle: '', script: options.script },
    account: () => options.account,
    start: options.start,
    ...(options.limits ? { limits: options.limits } : {}),
    message: (m) => {
      if (m.type === 'done') settle.resolve();
      else if (m.type === 'report') reports[m.step as string] = m;
    },
    restarting: (reason) => settle.reject(new Error(`the part ended (${reason}) after ${JSON.stringify(reports)}`)),
  });
  try {
    await Promise.all([part.start(), done]);
  } finally {
    await part.stop();
  }
  return reports;
}
