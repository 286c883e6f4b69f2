/**
 * The `cloison` part's cage driver (issue #29): a level's cage started, watched and stopped by the
 * root cage manager, each step a request on its socket (cageManagerClient.ts). The RunningCage the
 * fleet gets is built from the manager's answers alone:
 * - `start()`: `cage.start` with the level and the uid the part expects (the manager derives the
 *   rest from its running policy and answers once the cage's Xvnc has given its RFB greeting); its
 *   answer's sandbox pid is `innerPid`;
 * - `exited`: a `cage.wait` sent as the start answers and left pending, resolved with the manager's
 *   own words when the cage ends, however it ends — and only then. The wait failing without that
 *   answer (the manager's connection lost: CONNECTION_LOST; or refused) is not the cage's end: the
 *   cage may run on, held by the manager. `exited` then rejects with a CageEndUnknown (its code the
 *   failure's), which the fleet tells apart from an end: it connects to the manager again and asks
 *   `cage.wait` for the level anew (pending again while that manager runs the cage; refused
 *   CAGE_UNAVAILABLE by a manager restarted since, which holds none: then `cage.start`, which adopts
 *   the cage left running), never a fresh cage beside one that may run;
 * - `stop()`: `cage.stop`, then the exit (a stop after the end is unknown asks, and fails as the
 *   connection does: it does not say stopped while the cage may run);
 * - `openVnc()`: `cage.vncSocket`; the manager connects and checks the peer, the socket comes on the
 *   part's channel (HandedSockets) and its handle goes to the gateway unread. No connection to the
 *   cage is made from here: `endpoint` is the cage's socket, which this part cannot open (the cage
 *   uid's, in a root folder), and `verifyPeer` refuses whatever is connected there, so nothing
 *   connected by another way is relayed as this cage;
 * - `launcher.launch`: one of the level's apps, by `app.launch` — the app whose `exec` is the argv
 *   asked, in the policy this part reads; the manager checks it against its own.
 * - `sound`: where the level's FIFOs are when the policy gives it sound (the manager's driver makes
 *   them there): it only tells the AudioBroker the cage has a sound server; this part cannot open
 *   them, they come by `sound.fifos` (managerSoundEnds.ts).
 * - `quitApps()`: `cage.quitApps`; the manager asks the cage's apps to quit within the running
 *   policy's bound (the bound given here is not sent: the part does not choose it) and answers the
 *   outcome's numbers;
 * - `appWindows()`: `app.windows`, each policy app's open windows as the manager counts them (no
 *   window class a cage wrote reaches the part).
 * - `onNotice()`: from its first listener on, `cage.notice` asked again after each answer (with
 *   the last notice's number, so none between two requests is missed) until the manager answers
 *   the cage ended, the cage's end is known here, or the request fails (the connection lost: the
 *   fleet's reconnection makes a new RunningCage whose listeners ask again).
 * - `tunnel`: for a level the policy puts on WireGuard, `tunnel.status` asked every few seconds
 *   while the cage runs (remoteTunnel.ts): the band's figures as the manager's driver measures them.
 * Not through a request yet, so absent: of the launcher `run`, `stop` and what runs (`launched`,
 * `onExit`).
 */
import type { NetConnectOpts } from 'node:net';
import { join } from 'node:path';
import { CloisonError } from '../../shared/errors';
import { isWireguard, type Policy } from '../../shared/policy';
import { bwrapCagePaths } from '../cages/bwrapDriver';
import type { AppQuitOutcome } from '../cages/appQuit';
import type { CageDriver, CageExit, CageNotice, RunningCage } from '../cages/cageDriver';
import type { CageLauncher, LaunchedProgram, LaunchRequest } from '../cages/cageLauncher';
import { scratchDir } from '../cages/cageMounts';
import { cageSoundOf } from '../policy/runningPolicy';
import type { CageManagerClient } from './cageManagerClient';
import type { RootRequest } from './requests';
import { remoteTunnel } from './remoteTunnel';
import { handleOfHandedSocket, type HandedSockets } from './socketHandOver';

export interface RemoteCageDriverOptions {
  client: CageManagerClient;
  /** The part's one receiver of handed sockets (one per process). */
  handed: HandedSockets;
  level: string;
  /** The level's uid as the part reads the policy: the manager refuses any other. */
  uid: number;
  /** The policy the part runs with, for the app ids of `launch`. */
  policy(): Pick<Policy, 'levels' | 'audio'>;
  /** The manager's folders, only to name the cage's socket in `endpoint`. */
  stateDir: string;
  runDir: string;
}

export class RemoteCageDriver implements CageDriver {
  constructor(private readonly options: RemoteCageDriverOptions) {}

  async start(): Promise<RunningCage> {
    const { level } = this.options;
    const answer = (await this.ask({ op: 'cage.start', level, uid: this.options.uid })) as { innerPid: number; screen?: unknown; desktopColour?: unknown };
    return { ...this.rejoin(answer.innerPid), ...startedOf(answer) };
  }

  /**
   * The level's cage as this manager holds it, from a `cage.wait` alone (no start): how the part
   * finds again, over a new connection, a cage whose end it no longer knows (rejoiningCageDriver.ts).
   * A manager that holds none refuses the wait: `exited` then rejects with a CageEndUnknown of that code.
   */
  rejoin(innerPid: number | null): RunningCage {
    const { level } = this.options;
    let ended = false;
    const exited: Promise<CageExit> = this.options.client.request({ op: 'cage.wait', level }).then(
      (answer) => {
        ended = true;
        return { reason: (answer as { reason: string }).reason };
      },
      (err: Error) => {
        throw new CageEndUnknown(level, err);
      },
    );
    // Whoever holds the cage handles the rejection; an unheld one is not an unhandled rejection here.
    exited.catch(() => undefined);
    const listeners: Array<(notice: CageNotice) => void> = [];
    const listen = async () => {
      let after: number | undefined;
      while (!ended) {
        const answer = Object(await this.options.client.request({ op: 'cage.notice', level, ...(after !== undefined ? { after } : {}) })) as { seq?: unknown; notice?: Partial<CageNotice>; ended?: unknown };
        const notice = answer.notice;
        if (answer.ended === true || !Number.isInteger(answer.seq) || !notice || !['memory', 'tasks', 'home'].includes(notice.limit as string) || typeof notice.message !== 'string') return;
        after = answer.seq as number;
        if (ended) return; // told after the end: the cage's state is its exit now
        for (const listener of listeners) listener({ limit: notice.limit!, message: notice.message });
      }
    };
    const paths = bwrapCagePaths(this.options.stateDir, this.options.runDir, level);
    const sound = cageSoundOf(this.options.policy(), level);
    const network = this.options.policy().levels.find((l) => l.id === level)?.cage;
    const onWireguard = network?.driver === 'bwrap' && isWireguard(network.network);
    return {
      ...(onWireguard ? { tunnel: remoteTunnel({ level, ask: (request) => this.ask(request), running: () => !ended }) } : {}),
      ...(sound ? { sound: { out: join(paths.sound, 'out.fifo'), mic: sound.micAllowed ? join(paths.sound, 'mic.fifo') : null } } : {}),
      endpoint: { path: join(scratchDir(paths.scratch, 'vnc'), 'vnc.sock') } satisfies NetConnectOpts,
      innerPid,
      exited,
      stop: async () => {
        // An ended cage's stop must not reach the level's next cage.
        if (!ended) await this.ask({ op: 'cage.stop', level });
        await exited;
      },
      verifyPeer: () => {
        throw new CloisonError('POLICY_DENIED', `cage ${level}'s VNC connections come from the cage manager (openVnc), never connected from here`);
      },
      openVnc: async () => {
        const { connection } = (await this.ask({ op: 'cage.vncSocket', level })) as { connection: number };
        return handleOfHandedSocket(await this.options.handed.take(connection));
      },
      launcher: new RemoteCageLauncher(this, level, () => !ended),
      quitApps: async () => quitOutcomeOf(await this.ask({ op: 'cage.quitApps', level })),
      appWindows: async () => appWindowsOf(await this.ask({ op: 'app.windows', level })),
      onNotice: (listener) => {
        listeners.push(listener);
        if (listeners.length === 1) void listen().catch(() => undefined); // a lost connection ends the listening; the end is cage.wait's to tell
      },
    };
  }

  /** A request; the manager's refusal or failure as a CloisonError with its code, saying what was asked. */
  async ask(request: RootRequest): Promise<unknown> {
    try {
      return await this.options.client.request(request);
    } catch (err) {
      const code = err instanceof CloisonError ? err.code : 'INTERNAL';
      throw new CloisonError(code, `the cage manager answered ${request.op} for level ${this.options.level}: ${(err as Error).message}`);
    }
  }

  /** The id of the level's app whose command line is exactly `argv`, by the policy this part reads. */
  appIdOf(argv: readonly string[]): string | null {
    const level = this.options.policy().levels.find((l) => l.id === this.options.level);
    const apps = level?.cage.driver === 'bwrap' ? level.cage.apps : [];
    return apps.find((a) => a.exec.length === argv.length && a.exec.every((arg, i) => arg === argv[i]))?.id ?? null;
  }
}

/** The manager's `cage.quitApps` answer, its fields checked (a malformed one is no outcome). */
function quitOutcomeOf(answer: unknown): AppQuitOutcome {
  const o = Object(answer) as Partial<AppQuitOutcome>;
  const counts = [o.windows, o.windowsLeft, o.programsLeft, o.waitedMs].every((n) => Number.isInteger(n) && (n as number) >= 0);
  if (!(o.outcome === 'all quit' || o.outcome === 'timed out' || o.outcome === 'not asked') || !counts || (o.reason !== undefined && typeof o.reason !== 'string')) {
    throw new CloisonError('INTERNAL', 'the cage manager\'s answer to cage.quitApps is not an outcome');
  }
  return { outcome: o.outcome, windows: o.windows!, windowsLeft: o.windowsLeft!, programsLeft: o.programsLeft!, waitedMs: o.waitedMs!, ...(o.reason !== undefined ? { reason: o.reason } : {}) };
}

/** What the manager's `cage.start` answer says the cage's X server was started at and painted; what is not well formed, nothing. */
function startedOf(answer: { screen?: unknown; desktopColour?: unknown }): Pick<RunningCage, 'screen' | 'desktopColour'> {
  const { width, height } = (answer.screen ?? {}) as { width?: unknown; height?: unknown };
  const sized = Number.isInteger(width) && Number.isInteger(height) && (width as number) > 0 && (height as number) > 0;
  const painted = typeof answer.desktopColour === 'string' && /^#[0-9a-fA-F]{6}$/.test(answer.desktopColour);
  return { ...(sized ? { screen: { width: width as number, height: height as number } } : {}), ...(painted ? { desktopColour: answer.desktopColour as string } : {}) };
}

/** The manager's `app.windows` answer: a count per app id, or null (the cage was not asked). */
function appWindowsOf(answer: unknown): Array<{ appId: string; windows: number }> | null {
  const apps = (Object(answer) as { apps?: unknown }).apps;
  if (apps === null) return null;
  if (!Array.isArray(apps)) throw new CloisonError('INTERNAL', 'the cage manager\'s answer to app.windows is not one');
  return apps.flatMap((a: { appId?: unknown; windows?: unknown }) => (typeof a?.appId === 'string' && Number.isInteger(a.windows) && (a.windows as number) >= 0 ? [{ appId: a.appId, windows: a.windows as number }] : []));
}

/**
 * The manager did not answer how a cage ended (its connection lost, or the wait refused): the cage
 * may run on. `code` is the failure's (CONNECTION_LOST for a lost connection); `failure` what failed.
 */
export class CageEndUnknown extends CloisonError {
  constructor(
    readonly level: string,
    readonly failure: Error,
  ) {
    super(
      failure instanceof CloisonError ? failure.code : 'INTERNAL',
      `cage ${level}'s end is not known (${failure.message}): it may run on — connect to the cage manager again and ask cage.wait for it (cage.start after a manager restart adopts it)`,
    );
    this.name = 'CageEndUnknown';
  }
}

/** The cage's launcher as far as requests go: an app of the policy started; nothing else. */
class RemoteCageLauncher implements CageLauncher {
  constructor(
    private readonly driver: RemoteCageDriver,
    private readonly level: string,
    private readonly running: () => boolean,
  ) {}

  /** While the cage runs: the manager answers for its launcher. */
  get alive(): boolean {
    return this.running();
  }

  async launch(request: LaunchRequest): Promise<LaunchedProgram> {
    if (request.env && Object.keys(request.env).length > 0) throw notThroughManager(this.level, 'a program with an environment of its own');
    const appId = this.driver.appIdOf(request.argv);
    if (!appId) throw new CloisonError('POLICY_DENIED', `no app of level ${this.level} has the command line ${JSON.stringify(request.argv).slice(0, 200)}: only the policy's apps start through the cage manager`);
    const { pid } = (await this.driver.ask({ op: 'app.launch', level: this.level, appId, argv: [...request.argv] })) as { pid: number };
    return { pid, argv: [...request.argv], startedAt: Date.now() };
  }

  run(): Promise<never> {
    return Promise.reject(notThroughManager(this.level, 'a program run to its end'));
  }

  stop(): Promise<never> {
    return Promise.reject(notThroughManager(this.level, 'stopping a launched program'));
  }

  /** Not known here (no request tells it yet): none reported. */
  launched(): LaunchedProgram[] {
    return [];
  }

  onExit(): () => void {
    return () => undefined;
  }
}

function notThroughManager(level: string, what: string): CloisonError {
  return new CloisonError('CAGE_UNAVAILABLE', `${what} in cage ${level} does not go through the cage manager yet`);
}
