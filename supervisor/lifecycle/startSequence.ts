/**
 * The supervisor's start, step by step: the policy journaled, the training session checked, the
 * browser part and the sockets; then, beside the browser part's own start, USB and the smart cards
 * and the cages; the shell's address said as soon as the browser part listens (the shell's calls
 * held until USB and the cards are set up and the cages asked to start: startGate.ts); then file
 * staging, the device watcher, the lock and sleep guard, and sound. Each part registers how it
 * stops where it starts (Disposables, stopped last first).
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
import type { StartGate } from './startGate';

export { StartGate } from './startGate';

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
  /** The shell's calls, held until USB and the card are set up and the cages asked to start. */
  gate: StartGate;
}

/**
 * USB's media root (before any cage binds its folder of it), then the card's proxies: what the
 * cages need before they start; returns whether keys can be used at all. Their stops are
 * registered around the cages' (stopped last first: the card's proxies, the cages, then USB).
 */
async function setUpDevices(parts: StartParts, levels: string[]): Promise<{ usbReady: boolean }> {
  const { options, disposables, fleet } = parts;
  const usb = await prepareUsb({ mediaMounts: parts.mediaMounts, devices: parts.devices }, levels, options.log);
  disposables.add('USB devices', usb.stop);
  disposables.add('cages', () => (parts.keepCages() ? undefined : fleet.stopAll('supervisor shutting down')));
  await startSmartcard(parts.smartcard, disposables, options.log);
  return { usbReady: usb.ready };
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
  // USB and the card are set up beside the browser part's start, and its address is said as soon as
  // it listens: a shell that connects meanwhile has its calls held until they are set up and the
  // cages asked to start (startGate.ts), so nothing it is told is made of what is not set up yet.
  const settingUp = setUpDevices(parts, policy.levels.map((l) => l.id));
  // Cages start in parallel, each reporting its own status; one left running before (crash, restart, upgrade) is re-adopted if it checks out.
  // They start once USB and the card are set up, beside the browser part's own start (a Node process loading its bundle), not after it.
  const cagesStarting = settingUp.then(({ usbReady }) => {
    checkpoint();
    const starting = fleet.startAll();
    parts.gate.open();
    return starting.then(() => usbReady);
  });
  cagesStarting.catch(() => undefined); // thrown below, once the part listens or failed
  let usbReady: boolean;
  try {
    const partFailure = await partStarting.then(
      () => null,
      (err: unknown) => ({ err }),
    );
    // The part's failure is thrown once the cages it ran beside have started (and can be stopped).
    if (partFailure) {
      await cagesStarting.catch(() => undefined);
      throw partFailure.err;
    }
    parts.hostReady();
    onListening?.();
    usbReady = await cagesStarting;
  } finally {
    // A start that failed or was stopped holds no call: they answer from what there is, as the supervisor stops.
    parts.gate.open();
  }
  // The idle time counts from here: cages slow to start (a loaded machine) are nobody's idleness.
  parts.lock.activity();
  checkpoint();
  // The cloison part cannot mount: its staging tmpfs is the manager's to mount (managerMain.ts).
  disposables.add('file transfers and their staging area', options.manager ? await prepareRemoteFileStaging(parts.files, parts.stagingDir, options.log) : await prepareFileStaging(parts.files, parts.stagingDir, policy, options.log));
  if (usbReady) parts.deviceWatcher.start();
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
