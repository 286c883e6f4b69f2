/**
 * The trainer's desk wired to the supervisor: sessions against the running cages, if the policy
 * allows them. Training keys are loop devices over images in the desk's own folder (a policy that
 * allows training counts those as removable keys); a drill waits for the device broker to settle a
 * key before it goes on.
 */
import { join } from 'node:path';
import type { FlowItem } from '../../shared/rpc';
import type { TrainingView } from '../../shared/trainingScenario';
import type { FileAuditJournal } from '../audit/auditJournal';
import type { CageLifecycle } from '../cages/cageLifecycle';
import type { PolicyReader } from '../policy/policyReader';
import { levelViews } from '../policy/levelViews';
import type { DeviceBroker } from '../usb/deviceBroker';
import type { DrillContext } from './drills/drill';
import { managerTrainingActs, type TrainingRequester } from './drills/managerTrainingActs';
import { TrainingDesk, type TrainingDeskOptions } from './trainingDesk';
import { plugTrainingKey, type TrainingKeyLoops } from './trainingKeys';

export interface TrainingWiringOptions {
  policy: PolicyReader;
  stateDir: string;
  runDir: string;
  journal: FileAuditJournal;
  record: TrainingDeskOptions['record'];
  onView: (view: TrainingView | null) => void;
  onFlow: (flow: FlowItem) => void;
  cages: ReadonlyMap<string, CageLifecycle>;
  devices: DeviceBroker;
  keyPresses: DrillContext['keyPresses'];
  writeClipboard: DrillContext['writeClipboard'];
  /** Set in the unprivileged `cloison` part (its ManagerLink): the look-alikes and documents go through the cage manager. */
  manager?: { client: TrainingRequester };
  /** How a training key's image is attached: through the cage manager in the cloison part (cageManager/remoteTrainingKeys.ts). */
  keyLoops?: TrainingKeyLoops;
}

/** Where training keys' images are: a policy that allows training counts loop devices over them as keys. */
export function trainingKeysDir(runDir: string): string {
  return join(runDir, 'training', 'keys');
}

export function createTrainingDesk(options: TrainingWiringOptions): TrainingDesk {
  const { policy, cages, devices } = options;
  const desk = new TrainingDesk({
    policy,
    reportDir: join(options.stateDir, 'training-reports'),
    record: options.record,
    onView: options.onView,
    onFlow: options.onFlow,
    context: {
      get levels() {
        return levelViews(policy.current());
      },
      cage: (level) => {
        const running = cages.get(level)?.cage;
        return running?.launcher ? running : null;
      },
      ...(options.manager ? { training: managerTrainingActs(options.manager.client) } : {}),
      keyPresses: options.keyPresses,
      writeClipboard: options.writeClipboard,
      plugKey: (spec) => plugTrainingKey(trainingKeysDir(options.runDir), spec, options.keyLoops),
      deviceSettled: (serial) => deviceSettled(devices, serial),
      now: Date.now,
    },
  });
  options.journal.onRecord((record) => desk.observe(record));
  return desk;
}

/** Resolves when no device with that serial is being attached or prepared (or after 15 s). */
function deviceSettled(devices: DeviceBroker, serial: string): Promise<void> {
  const busy = () => devices.list().some((d) => d.serial === serial && (d.state === 'attaching' || d.state === 'preparing' || d.state === 'ejecting'));
  return new Promise((resolve) => {
    if (!busy()) return resolve();
    const done = () => {
      clearTimeout(timer);
      devices.off('change', check);
      resolve();
    };
    const check = () => (busy() ? undefined : done());
    const timer = setTimeout(done, 15_000);
    devices.on('change', check);
  });
}
