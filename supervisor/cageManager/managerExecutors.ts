/**
 * The cage manager's executor table: every root request it serves, each built from what the
 * manager holds (the running policy, its folders, its map of running cages, the unprivileged
 * part's channel, the workstation user fixed at its start). A request whose op has no row here is
 * refused and journaled by the server ("no executor for this request in this manager").
 */
import { join } from 'node:path';
import type { Policy } from '../../shared/policy';
import type { HostSoundTarget } from '../audio/hostSound';
import type { WorkstationUser } from '../session/workstationUser';
import { bwrapCagePaths } from '../cages/bwrapDriver';
import { scratchDir } from '../cages/cageMounts';
import { loadOrCreateStationKeys } from '../usb/keyMarks';
import { appLaunchExecutor } from './appLaunchExecutor';
import { appRunningExecutor } from './appRunningExecutor';
import { appWindowsExecutor } from './appWindowsExecutor';
import type { RootExecutors } from './cageManagerServer';
import type { AuditFields } from '../audit/auditJournal';
import type { ManagerPolicyText, ManagerReloadAnswer } from './managerPolicyReload';
import { detachLoopsOfEndedPart } from './partRestartLoops';
import { managerCardEndpoints } from './managerCardEndpoints';
import { cageNoticeExecutor } from './cageNoticeExecutor';
import { cageQuitAppsExecutor } from './cageQuitAppsExecutor';
import { cageStartExecutor, startEarly, type CageStartAnswer } from './cageStartExecutor';
import { cageStopExecutor } from './cageStopExecutor';
import { cageWaitExecutor } from './cageWaitExecutor';
import { CardPresenceWatch } from './cardPresenceWatch';
import { CardProxies, type HandedCardSocket } from './cardProxyExecutor';
import { filesHelperExecutor } from './filesHelperExecutor';
import { homeMountExecutor } from './homeMountExecutor';
import { homeUnmountExecutor } from './homeUnmountExecutor';
import { AttachedLoopKeys } from './attachedLoopKeys';
import { loopAttachExecutor } from './loopAttachExecutor';
import { loopDetachExecutor } from './loopDetachExecutor';
import type { ManagedCages } from './managedCages';
import { pamCheckExecutor } from './pamCheckExecutor';
import { sleepInhibitExecutor } from './sleepInhibitExecutor';
import { sleepWaitExecutor } from './sleepWaitExecutor';
import type { HandedSocket } from './socketHandOver';
import { soundFifosExecutor, type HandedSoundFifo } from './soundFifosExecutor';
import { soundHostExecutor, type HandedSoundEnd } from './soundHostExecutor';
import { stateChownExecutor } from './stateChownExecutor';
import { tunnelStatusExecutor } from './tunnelStatusExecutor';
import { trainingDocumentExecutor } from './trainingDocumentExecutor';
import { trainingSpoofExecutor } from './trainingSpoofExecutor';
import { usbMountExecutor } from './usbMountExecutor';
import { usbPrepareExecutor } from './usbPrepareExecutor';
import { usbProbeExecutor } from './usbProbeExecutor';
import { usbUnmountExecutor } from './usbUnmountExecutor';
import { vncServerExecutor } from './vncServerExecutor';
import { vncSocketExecutor } from './vncSocketExecutor';
import { ServingSelections } from './servingSelections';
import { xHelperRunExecutor } from './xHelperRunExecutor';
import { ManagerScreens, MANAGER_SCREENS_FILE } from './managerScreens';
import { xhelperStopExecutor } from './xhelperStopExecutor';
import { xScreenSizeExecutor } from './xScreenSizeExecutor';

export interface ManagerHoldings {
  /** The running policy, read at each request (SIGHUP replaces it). */
  policy(): Policy;
  stateDir: string;
  runDir: string;
  /** Where training keys are made (trainingWiring.ts's trainingKeysDir). */
  trainingKeysDir: string;
  /** The workstation's user, fixed when the manager started. */
  workstationUser: WorkstationUser | null;
  /** That user's sound server, or null. */
  hostSound(): HostSoundTarget | null;
  /** The manager's map of running cages (managedCages.ts): `cage.start` fills it, the others reach a cage through it. */
  cages: ManagedCages;
  /** The unprivileged part's channel while it runs: descriptors go there. */
  part(): { send(message: HandedSocket | HandedSoundEnd | HandedSoundFifo | HandedCardSocket, fd?: number): boolean } | null;
  /** The cloison part's uid: a level's card folder is its to listen in (cageCardFolder.ts); absent, cages get no card. */
  partUid?: number;
  /** The machine is about to sleep. */
  onSleep(): void;
  /** How often the manager lists the reader's tokens (tests: faster than the second). */
  cardPollMs?: number;
  /** The system bus tools' environment (tests point DBUS_SYSTEM_BUS_ADDRESS at a bus of their own). */
  busEnv?: NodeJS.ProcessEnv;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
  /** The manager's own policy read again at the part's `policy.reload` (managerPolicyReload.ts); absent, none is served. */
  policyReload?: () => Promise<ManagerReloadAnswer>;
  /** The text the manager runs, for `policy.current` (managerPolicyReload.ts); absent, none is served. */
  policyCurrent?: () => ManagerPolicyText;
  /** The manager's journal: what is done when the part restarts is journaled there. */
  journal?: { append(kind: string, actor: string, fields: AuditFields): unknown };
}

/** The manager's own journal in its state folder (refusals, the sleep notice), apart from the supervisor's. */
export const MANAGER_JOURNAL_FILE = 'cage-manager-audit.jsonl';
/** Its socket, in its run folder unless --socket says otherwise. */
export const MANAGER_SOCKET_FILE = 'cage-manager.sock';
/** Where the manager counts failed password checks (pamCheckExecutor.ts), in its state folder. */
export const MANAGER_UNLOCK_FAILURES_FILE = 'manager-unlock-failures.json';

export function managerExecutors(h: ManagerHoldings): { executors: RootExecutors; startCage(level: string): Promise<CageStartAnswer>; policyReloaded(): void; partEnded(reason: string): string[]; stop(): Promise<void> } {
  const folders = { stateDir: h.stateDir, runDir: h.runDir };
  const sound = soundHostExecutor({ policy: h.policy, target: h.hostSound, part: h.part });
  const sleepWait = sleepWaitExecutor();
  // The sleep is journaled by the manager and told to the part through its pending sleep.wait.
  const sleep = sleepInhibitExecutor({
    onSleep: () => {
      sleepWait.announce(); // first: a journal that cannot write must not keep the lock from the part
      h.onSleep();
    },
    ...(h.busEnv ? { env: h.busEnv } : {}),
    ...(h.log ? { log: h.log } : {}),
  });
  const files = filesHelperExecutor({ policy: h.policy, ...folders, part: h.part });
  // The mark secret is read once, when a key is first looked at, as the USB broker does (usbWiring.ts).
  let station: ReturnType<typeof loadOrCreateStationKeys> | null = null;
  const usbKeys = { policy: h.policy, runDir: h.runDir, trainingKeysDir: h.trainingKeysDir, stationKeys: () => (station ??= loadOrCreateStationKeys(join(h.stateDir, 'usb-mark.key'))) };
  // A running cage's X socket folder, derived as its driver derives it (bwrapDriver.ts x11Dir).
  const x11Dir = (level: string): string | null => (h.cages.cage(level) ? scratchDir(bwrapCagePaths(h.stateDir, h.runDir, level).scratch, 'x11') : null);
  // The selections the manager's xclips serve, which xhelper.stop stops.
  const serving = new ServingSelections();
  // What loop.attach attached, the only devices loop.detach detaches.
  const loopKeys = new AttachedLoopKeys();
  // Each level's card proxy, run as its proxy uid from the policy (the part guards the cage's side).
  // A cage the policy gives the card binds its level's card folder, the part's guard listening there;
  // the cages' card client made in the background from here (managerCardEndpoints.ts).
  const cardEndpoints = managerCardEndpoints({ policy: h.policy, partUid: h.partUid, runDir: h.runDir, stateDir: h.stateDir, ...(h.log ? { log: h.log } : {}) });
  const cards = new CardProxies({ policy: h.policy, dir: `${h.runDir}-card`, part: h.part, cardFolder: (level) => cardEndpoints.socketFolder(level), ...(h.log ? { log: h.log } : {}), ...(h.journal ? { journal: h.journal } : {}) });
  // The reader watched by the manager from its first card proxy or card.presence on (the part asks from
  // its start, for the band): a pulled card, or a reader that cannot be listed, restarts them here.
  const cardWatch = new CardPresenceWatch({ policy: h.policy, restart: () => cards.restartRunning(), toolDir: join(h.stateDir, 'card-presence-tool'), ...(h.log ? { log: h.log } : {}), ...(h.journal ? { journal: h.journal } : {}), ...(h.cardPollMs !== undefined ? { intervalMs: h.cardPollMs } : {}) });
  // Each cage's Xvnc started at the size the part last had its screen set to (managerScreens.ts).
  const screens = new ManagerScreens(join(h.stateDir, MANAGER_SCREENS_FILE), h.log);
  const cageStart = { policy: h.policy, ...folders, cages: h.cages, extras: (level: string) => ({
    ...(h.log ? { log: h.log } : {}),
    // A getter: asked only by the driver's construction, not by each extras(level).log.
    get smartcard() {
      return cardEndpoints.endpoint(level);
    },
    startScreen: () => screens.startSize(h.policy(), level),
  }), ...(h.journal ? { journal: journalOf(h.journal, h.log) } : {}) };
  const executors: RootExecutors = {
    'cage.start': cageStartExecutor(cageStart),
    'cage.stop': cageStopExecutor({ cages: h.cages }),
    'cage.wait': cageWaitExecutor({ cages: h.cages }),
    'home.mount': homeMountExecutor({ policy: h.policy, ...folders, cages: h.cages }),
    'cage.vncSocket': vncSocketExecutor({ cage: h.cages.cage, part: h.part }),
    'vnc.connect': vncServerExecutor({ policy: h.policy, part: h.part }),
    'loop.attach': loopAttachExecutor(loopKeys),
    'loop.detach': loopDetachExecutor(loopKeys),
    'state.chown': stateChownExecutor(),
    'home.unmount': homeUnmountExecutor({ ...folders, cages: h.cages }),
    'usb.unmount': usbUnmountExecutor(folders),
    'app.launch': appLaunchExecutor({ policy: h.policy, launcherOf: h.cages.launcherOf }),
    'app.running': appRunningExecutor({ policy: h.policy, launcherOf: h.cages.launcherOf }),
    'pam.check': pamCheckExecutor({ policy: h.policy, workstationUser: h.workstationUser, failuresFile: join(h.stateDir, MANAGER_UNLOCK_FAILURES_FILE) }),
    'sound.host': sound,
    'sleep.inhibit': sleep,
    'sleep.wait': sleepWait,
    'usb.probe': usbProbeExecutor(usbKeys),
    'usb.mount': usbMountExecutor(usbKeys),
    'usb.prepare': usbPrepareExecutor(usbKeys),
    'files.helper': files,
    'xhelper.run': xHelperRunExecutor({ policy: h.policy, x11Dir, part: h.part, serving }),
    'xhelper.screenSize': xScreenSizeExecutor({ policy: h.policy, x11Dir, set: (level, size) => screens.set(level, size) }),
    'xhelper.stop': xhelperStopExecutor(serving),
    // No network request: cage.start's driver attaches the level's slirp4netns or tunnel itself
    // (bwrapDriver.ts, in the cage's group), so network.nat and network.wireguard are no requests.
    'training.spoof': trainingSpoofExecutor({ policy: h.policy, cage: h.cages.cage }),
    'training.document': trainingDocumentExecutor({ policy: h.policy, cage: h.cages.cage }),
    'sound.fifos': soundFifosExecutor({ policy: h.policy, cage: h.cages.cage, part: h.part }),
    'cage.quitApps': cageQuitAppsExecutor({ policy: h.policy, cage: h.cages.cage }),
    'app.windows': appWindowsExecutor({ policy: h.policy, cage: h.cages.cage }),
    'cage.notice': cageNoticeExecutor({ cages: h.cages }),
    'tunnel.status': tunnelStatusExecutor({ cages: h.cages }),
    'card.proxy': (req) => {
      if (req.action === 'start') cardWatch.ensure();
      return cards.proxy(req);
    },
    'card.socket': cards.socket,
    'card.presence': cardWatch.wait,
    ...(h.policyReload ? { 'policy.reload': h.policyReload } : {}),
    ...(h.policyCurrent ? { 'policy.current': async () => h.policyCurrent!() } : {}),
  };
  return {
    executors,
    // The manager's own start of a level's cage, the part's first cage.start of it answered with that cage.
    startCage: (level) => startEarly(cageStart, level),
    // The policy read again (SIGHUP, policy.reload): what the executors run on that it no longer
    // allows ends — a host sound stream, a card proxy (and the sessions it serves) — whatever the part asks.
    policyReloaded: () => {
      sound.policyReloaded();
      void cards.policyReloaded().catch((err: Error) => h.log?.('card proxies not checked after a reload', { error: err.message }));
    },
    // The part ended and starts again: its training keys' loop devices detached (partRestartLoops.ts).
    partEnded: (reason) => detachLoopsOfEndedPart({ attached: loopKeys, trainingKeysDir: h.trainingKeysDir, journal: h.journal ?? { append: () => undefined }, reason }),
    // Awaited: a manager that exits before its card proxies are stopped leaves pkcs11proxyd running.
    stop: async () => {
      sound.stop();
      sleep.stop();
      files.stop();
      cardWatch.stop();
      await cards.stopAll().catch((err: Error) => h.log?.('card proxies not stopped', { error: err.message }));
    },
  };
}

/** A fact in the manager's journal; one that cannot be written is said, and stops nothing. */
function journalOf(journal: NonNullable<ManagerHoldings['journal']>, log?: ManagerHoldings['log']): (kind: string, fields: Record<string, string>) => void {
  return (kind, fields) => {
    try {
      journal.append(kind, 'manager', fields);
    } catch (err) {
      log?.('journal not written', { kind, reason: (err as Error).message });
    }
  };
}
