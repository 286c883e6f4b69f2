/**
 * The trainer's commands on the admin socket: start a session from a scenario the trainer's own
 * `cloison` read (with their rights — the supervisor opens no path they name), see where it is,
 * stop it, and take its report. Parameters are checked; a refusal says why.
 */
import { z } from 'zod';
import { PolicyError } from '../policy/policyLoader';
import { AdminRefusal, type AdminHandlers } from './adminServer';
import { MAX_SCENARIO_BYTES, TrainingRefused, type TrainingDesk } from '../training/trainingDesk';

const startParams = z
  .object({
    scenarioFile: z.string().min(1).max(4096),
    scenarioText: z.string().max(MAX_SCENARIO_BYTES),
    trainee: z.string().min(1).max(200),
  })
  .strict();

type TrainingMethods = Pick<AdminHandlers, 'training.start' | 'training.status' | 'training.stop' | 'training.report'>;

export function trainingAdminHandlers(desk: TrainingDesk): TrainingMethods {
  return {
    'training.start': (params) => {
      const parsed = startParams.safeParse(params);
      if (!parsed.success) throw new AdminRefusal(`training.start takes {scenarioFile, scenarioText (at most ${MAX_SCENARIO_BYTES / 1024} KiB), trainee}: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'params'}: ${i.message}`).join('; ')}`);
      try {
        return desk.start(parsed.data, 'admin');
      } catch (err) {
        if (err instanceof TrainingRefused || err instanceof PolicyError) throw new AdminRefusal(err.message);
        throw err;
      }
    },
    'training.status': () => ({ session: desk.view(), report: desk.report()?.name ?? null }),
    'training.stop': () => desk.stop('admin', 'stopped by the trainer'),
    'training.report': () => {
      const report = desk.report();
      if (!report) throw new AdminRefusal('no training report yet: a session writes one when it finishes or is stopped');
      return report;
    },
  };
}
