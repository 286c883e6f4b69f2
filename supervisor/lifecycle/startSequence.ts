/**
 * The supervisor's start, step by step: the policy journaled, the training session checked, the
 * browser part and the sockets, USB and the smart cards, the cages (beside the browser part's own
 * start), then file staging, the device watcher, the lock and sleep guard, and sound. Each part
 * registers how it stops where it starts (Disposables, stopped last first).
 */
import { createHash } from 'node:crypto';
import type { RunningPolicy } from '../policy/runningPolicy';
import type { BrowserPart } from '../browserPart/browserPart';
import type { CageFleet } from '../cages/cageFleet';
import type { FileBroker } from '../files/fileBroker';
import { prepareFileStaging, prepareRemoteFileStaging } from '../files/fileStaging';
import type { DeviceBroker } from '../usb/deviceBroker';
import type { DeviceWatcher } from '../usb/deviceWatcher';
import type { KeyMounts } from '../usb/keyRootActs';
import { prepareUsb } from '../usb/usbWiring';
import type { SmartcardBroker } from '../smartcard/smartcardBroker';
import { startSmartcard } from '../smartcard/smartcardWiring';
import type { SessionLock } from '../session/sessionLock';
import type { LockBeforeSleep } from '../session/sleepGuard';
import type { AudioBroker } from '../audio/audioBroker';
import type { TrainingDesk } from '../training/trainingDesk';
import type { Disposables } from '../system/disposables';
import type { FactRecorder } from '../audit/journalWiring';

type Log = (msg: string, fields?: Record<string, unknown>) => void;

export interface StartParts {
  options: {
    policySource: string;
    training?: { scenarioFile: string; trainee: string; reportDir: string } | undefined;
    /** Set in the cloison part (supervisorOptions.ts). */
    manager?: object | undefined;
    log?: Log | undefined;
  };
  policyStore: RunningPolicy;
  journalFact: FactRecorder;
  disposables: Disposables;
  training: TrainingDesk;
  part: BrowserPart;
  /** The shell's and the admin's sockets, each registering how it stops. */
  listen: () => Promise<void>;
  mediaMounts: KeyMounts;
  devices: DeviceBroker;
  deviceWatcher: DeviceWatcher;
  fleet: CageFleet;
  /** `stop({ keepCages })`: the cages stay running for the next supervisor to re-adopt. */
  keepCages: () => boolean;
  smartcard: SmartcardBroker | null;
  lock: SessionLock;
  sleepGuard: LockBeforeSleep;
  files: FileBroker;
  stagingDir: string;
  audio: AudioBroker;
  /** The browser part listens: the supervisor hands out its addresses from now on. */
  hostReady: () => void;
}

export async function runStartSequence(parts: StartParts, checkpoint: () => void, onListening?: () => void): Promise<void> {
  const { options, disposables, part, fleet } = parts;
  const policy = parts.policyStore.current();
  parts.journalFact('policy.load', {
    source: options.policySource,
    sha256: createHash('sha256').update(parts.policyStore.text).digest('hex'),
    levels: policy.levels.map((l) => l.id).join(','),
  });
  // Before anything listens or runs: a refused session (TrainingRefused, a scenario's PolicyError) starts nothing.
  const { training } = options;
  if (training) parts.training.startFromFile(training.scenarioFile, training.trainee, training.reportDir);
  // The browser part starts beside the sockets; the shell may connect once both listen.
  const partStarting = part.start();
  disposables.add('browser part', () => part.stop());
  await parts.listen();
  // Its failure is thrown below, once the cages it ran beside have started (and can be stopped).
  partStarting.catch(() => undefined);
  const usb = await prepareUsb({ mediaMounts: parts.mediaMounts, devices: parts.devices }, policy.levels.map((l) => l.id), options.log);
  disposables.add('USB devices', usb.stop);
  disposables.add('cages', () => (parts.keepCages() ? undefined : fleet.stopAll('supervisor shutting down')));
  await startSmartcard(parts.smartcard, disposables, options.log);
  // Cages start in parallel, each reporting its own status; one left running before (crash, restart, upgrade) is re-adopted if it checks out.
  // They start beside the browser part's own start (a Node process loading its bundle), not after it.
  checkpoint();
  const cagesStarting = fleet.startAll();
  await partStarting.catch(async (err: unknown) => {
    await cagesStarting.catch(() => undefined);
    throw err;
  });
  parts.hostReady();
  onListening?.();
  await cagesStarting;
  // The idle time counts from here: cages slow to start (a loaded machine) are nobody's idleness.
  parts.lock.activity();
  checkpoint();
  // The cloison part cannot mount: its staging tmpfs is the manager's to mount (managerMain.ts).
  disposables.add('file transfers and their staging area', options.manager ? await prepareRemoteFileStaging(parts.files, parts.stagingDir, options.log) : await prepareFileStaging(parts.files, parts.stagingDir, policy, options.log));
  if (usb.ready) parts.deviceWatcher.start();
  disposables.add('device watcher', () => parts.deviceWatcher.stop());
  parts.sleepGuard.start();
  disposables.add('lock and sleep guard', () => {
    parts.lock.dispose();
    parts.sleepGuard.stop();
  });
  disposables.add('sound', () => parts.audio.close());
  checkpoint();
  await parts.audio.start();
  // First to stop, while the cages run: a drill in course tidies up (its look-alike, its training key) and its report is written.
  disposables.add('training', () => parts.training.stop('supervisor', 'supervisor shutting down'));
}
