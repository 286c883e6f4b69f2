/**
 * Test tool, run by the real cage manager as its `cloison` part (`--part`): asks for the low
 * level's host recorder (`sound.host`) and keeps the end handed over, never reading or closing it,
 * as a part that will not let it go. Reports the answer on its stderr as a marked JSON line
 * (managerPartPlan.ts); stays until the manager stops it.
 */
import type { CloisonError } from '../../shared/errors';
import { CageManagerClient } from '../cageManager/cageManagerClient';
import { restrictCloisonPart } from '../cageManager/cloisonPartRestriction';
import { SOUND_HOST_MESSAGE } from '../cageManager/soundHostExecutor';
import { managerChannel, onHandedDescriptor } from '../cageManager/socketHandOver';
import { PART_REPORT_MARK } from './managerPartPlan';

const { managerSocket } = restrictCloisonPart() as { managerSocket: string };
const kept: number[] = [];
onHandedDescriptor(SOUND_HOST_MESSAGE, (_message, fd) => void kept.push(fd));
const channel = managerChannel();
channel.send({ type: 'ready' });
const report = (step: string, fields: Record<string, unknown>) => process.stderr.write(`${PART_REPORT_MARK}${JSON.stringify({ step, ...fields })}\n`);
const client = await CageManagerClient.connectOnceListening(managerSocket);
try {
  report('recorder', { result: await client.request({ op: 'sound.host', level: 'low', direction: 'record' }), kept: kept.length });
} catch (err) {
  report('recorder', { code: (err as CloisonError).code, error: (err as Error).message.slice(0, 300) });
}
setInterval(() => undefined, 60_000);
