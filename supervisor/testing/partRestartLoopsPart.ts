/**
 * Test tool, run by the real cage manager as its `cloison` part (`--part`,
 * cageManager/partRestartLoops.test.ts): the first time (no flag file in `<runDir>/../partflag`) it
 * makes a training key's image in the training keys' folder, as training/trainingKeys.ts does, asks
 * the manager to attach it (`loop.attach`), reports the device and ends with an error, as a crashed
 * part would; the manager starts it again, and the second time it reports and waits. Reports are
 * marked lines on its stderr (managerPartPlan.ts).
 */
import { existsSync, truncateSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { CloisonError } from '../../shared/errors';
import { CageManagerClient } from '../cageManager/cageManagerClient';
import { restrictCloisonPart } from '../cageManager/cloisonPartRestriction';
import { managerChannel } from '../cageManager/socketHandOver';
import { PART_REPORT_MARK } from './managerPartPlan';

const { managerSocket, runDir } = restrictCloisonPart() as { managerSocket: string; runDir: string };
managerChannel().send({ type: 'ready' });
const report = (step: string, fields: Record<string, unknown>) => process.stderr.write(`${PART_REPORT_MARK}${JSON.stringify({ step, ...fields })}\n`);
const client = await CageManagerClient.connectOnceListening(managerSocket);

const flag = join(dirname(runDir), 'partflag', 'started-once');
if (!existsSync(flag)) {
  writeFileSync(flag, '');
  const image = join(runDir, 'training', 'keys', 'DRILL-restart.img');
  writeFileSync(image, '');
  truncateSync(image, 1024 * 1024);
  const result = await client.request({ op: 'loop.attach', image }).then(
    (r) => ({ ok: true, device: (r as { device: string }).device }),
    (err: unknown) => ({ ok: false, code: (err as CloisonError).code ?? null, error: (err as Error).message.slice(0, 300) }),
  );
  report('first', { image, ...result });
  process.exit(1); // a crash: the manager starts the part again
}
report('second', {});
await new Promise(() => undefined); // the test stops the manager
