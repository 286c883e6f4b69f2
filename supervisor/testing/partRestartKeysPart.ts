/**
 * Test tool, run by the real cage manager as its `cloison` part (`--part`, cageManager/partRestartKeys.test.ts):
 * it finds the test's key (the loop device over an image in `<runDir>/../keys`) and asks the manager
 * to mount it read-write in low's media folder, as the USB broker does when the user attaches it.
 * The first time (no flag file in `<runDir>/../partflag`) it then ends with an error, as a crashed
 * part would, and the manager starts it again; the second time it asks the same and waits. Each
 * time it reports whether the key was still mounted when it started, and the manager's answer, as
 * a marked line on its stderr (managerPartPlan.ts).
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { CloisonError } from '../../shared/errors';
import { mediaRootOf } from '../cages/bwrapDriver';
import { PART_REPORT_MARK } from './managerPartPlan';
import { CageManagerClient } from '../cageManager/cageManagerClient';
import { restrictCloisonPart } from '../cageManager/cloisonPartRestriction';
import { managerChannel } from '../cageManager/socketHandOver';

const { managerSocket, runDir } = restrictCloisonPart() as { managerSocket: string; runDir: string };
managerChannel().send({ type: 'ready' });
const report = (step: string, fields: Record<string, unknown>) => process.stderr.write(`${PART_REPORT_MARK}${JSON.stringify({ step, ...fields })}\n`);
const client = await CageManagerClient.connectOnceListening(managerSocket);

const keysDir = join(dirname(runDir), 'keys');
const device = readdirSync('/sys/block').filter((n) => /^loop\d+$/.test(n)).map((n) => {
  try {
    return readFileSync(`/sys/block/${n}/loop/backing_file`, 'utf8').trimEnd().startsWith(`${keysDir}/`) ? `/dev/${n}` : null;
  } catch {
    return null;
  }
}).find((d) => d !== null)!;
const target = join(mediaRootOf(runDir), 'low', 'RESTART');
const mountedBefore = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === target);
const result = await client.request({ op: 'usb.mount', device, level: 'low', mode: 'read-write', target }).then(
  (r) => ({ ok: true, result: r }),
  (err: unknown) => ({ ok: false, code: (err as CloisonError).code ?? null, error: (err as Error).message.slice(0, 300) }),
);
const flag = join(dirname(runDir), 'partflag', 'started-once');
if (!existsSync(flag)) {
  writeFileSync(flag, '');
  report('first', { device, mountedBefore, ...result });
  process.exit(1); // a crash: the manager starts the part again
}
report('second', { device, mountedBefore, ...result });
await new Promise(() => undefined); // the test stops the manager
