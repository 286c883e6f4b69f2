/**
 * Whether the running policy implies a root request: the cage manager's second gate, after the
 * schema (requests.ts). A compromised `cloison` part can ask for anything; it gets only what the
 * policy already gives the levels: a level the policy names, that level's own uid, the paths the
 * manager itself derives for that level (under the state or run folder, no `..`, no symbolic link
 * on the way), a device the policy makes a candidate key, an application's command line exactly as
 * the policy writes it. Every refusal says why, for the journal.
 */
import { lstatSync } from 'node:fs';
import { isAbsolute, join, normalize, sep } from 'node:path';
import { cageUid, isWireguard, maxGeometryOf, type BwrapCagePolicy, type Policy } from '../../shared/policy';
import { bwrapCagePaths, mediaRootOf } from '../cages/bwrapDriver';
import { loopBackingDirOf } from '../policy/runningPolicy';
import { scanBlockDevices } from '../usb/sysfsBlockDevices';
import type { RequestOf, RootOp, RootRequest } from './requests';
import { screenSizeRefusal, xArgsRefusal } from './xHelperRunArguments';

export interface AuthorizationContext {
  /** The running policy, read at each request (a reload changes what is allowed at once). */
  policy(): Policy;
  stateDir: string;
  runDir: string;
  /** Where training keys are made (loop devices there count as keys when training is allowed). */
  trainingKeysDir: string;
  /** The workstation's user: the only one whose password the lock may check, whose sound server is reached. */
  workstationUser: string | null;
  /** Where /sys is (tests of device naming point it elsewhere). */
  sysRoot?: string;
  /**
   * Whether the manager runs a cage for the level (managedCages.ts `holds`): a level dropped from the
   * policy while its cage runs can still be stopped and waited for — nothing else.
   */
  holdsCage?(level: string): boolean;
}

export type Authorization = { allowed: true } | { allowed: false; reason: string };

const ALLOWED: Authorization = { allowed: true };
const refuse = (reason: string): Authorization => ({ allowed: false, reason });

type Check<O extends RootOp> = (req: RequestOf<O>, ctx: AuthorizationContext) => Authorization;

export function authorizeRootRequest(req: RootRequest, ctx: AuthorizationContext): Authorization {
  const check = CHECKS[req.op] as Check<typeof req.op>;
  return check(req as never, ctx);
}

/** The bwrap level `id` names in the running policy, with its uid and index. */
function bwrapLevel(policy: Policy, id: string): { cage: BwrapCagePolicy; uid: number } | string {
  const index = policy.levels.findIndex((l) => l.id === id);
  if (index < 0) return `no level "${id.slice(0, 40)}" in the running policy`;
  const cage = policy.levels[index]!.cage;
  if (cage.driver !== 'bwrap') return `level "${id}" is not a bwrap cage`;
  return { cage, uid: cageUid(cage, index) };
}

/**
 * `path` written plainly (absolute, no `.` or `..` segment, no doubled or trailing slash) under
 * `root`, and no symbolic link between root and it: a link a cage planted cannot turn a path of
 * the state folder into one elsewhere.
 */
export function pathUnder(path: string, root: string): string | null {
  if (!isAbsolute(path) || path.split('/').some((s) => s === '..' || s === '.')) return `path ${JSON.stringify(path.slice(0, 200))} has a . or .. segment`;
  if (normalize(path) !== path || path.endsWith('/')) return `path ${JSON.stringify(path.slice(0, 200))} is not written plainly`;
  const base = normalize(root).replace(/\/$/, '');
  if (!path.startsWith(base + sep)) return `path ${JSON.stringify(path.slice(0, 200))} is outside ${base}`;
  let at = base;
  for (const part of path.slice(base.length + 1).split('/')) {
    at = join(at, part);
    try {
      if (lstatSync(at).isSymbolicLink()) return `path ${JSON.stringify(path.slice(0, 200))} goes through a symbolic link (${at})`;
    } catch {
      return null; // the rest does not exist yet: nothing to follow
    }
  }
  return null;
}

function levelAnd(req: { level: string }, ctx: AuthorizationContext, then: (level: { cage: BwrapCagePolicy; uid: number }) => Authorization): Authorization {
  const level = bwrapLevel(ctx.policy(), req.level);
  return typeof level === 'string' ? refuse(level) : then(level);
}

function exactPath(what: string, path: string, expected: string, root: string): Authorization {
  const outside = pathUnder(path, root);
  if (outside) return refuse(`${what}: ${outside}`);
  return path === expected ? ALLOWED : refuse(`${what} ${JSON.stringify(path.slice(0, 200))} is not the level's (${expected})`);
}

/** The device is one the policy makes a candidate key: a USB disk, or a loop device over its folder. */
function namedDevice(device: string, ctx: AuthorizationContext): Authorization {
  const policy = ctx.policy();
  const loopBackingDir = loopBackingDirOf(policy, ctx.trainingKeysDir);
  const candidates = scanBlockDevices({ ...(ctx.sysRoot ? { sysRoot: ctx.sysRoot } : {}), ...(loopBackingDir ? { loopBackingDir } : {}) });
  const found = candidates.find((d) => d.devnode === device);
  if (!found) return refuse(`device ${device} is not a key the policy names (a USB disk, or a loop device over ${loopBackingDir ?? 'no folder: the policy names none'})`);
  if (found.bus === 'usb' && policy.usb.unknown === 'ignore' && policy.usb.rules.length === 0) return refuse(`device ${device}: the policy ignores USB devices`);
  return ALLOWED;
}

const CHECKS: { [O in RootOp]: Check<O> } = {
  'cage.start': (req, ctx) => levelAnd(req, ctx, ({ uid }) => (req.uid === uid ? ALLOWED : refuse(`uid ${req.uid} is not level ${req.level}'s (${uid})`))),
  'cage.stop': (req, ctx) => (ctx.holdsCage?.(req.level) ? ALLOWED : levelAnd(req, ctx, () => ALLOWED)),
  'cage.wait': (req, ctx) => (ctx.holdsCage?.(req.level) ? ALLOWED : levelAnd(req, ctx, () => ALLOWED)),
  'cage.vncSocket': (req, ctx) => levelAnd(req, ctx, () => ALLOWED),
  // Only a vnc level's own socket endpoint (the path is the policy's, never the request's); a TCP one the part reaches itself.
  'vnc.connect': (req, ctx) => {
    const cage = ctx.policy().levels.find((l) => l.id === req.level)?.cage;
    if (!cage) return refuse(`no level "${req.level.slice(0, 40)}" in the running policy`);
    if (cage.driver !== 'vnc') return refuse(`level "${req.level}" is not a vnc cage`);
    return 'socket' in cage.endpoint ? ALLOWED : refuse(`level "${req.level}"'s VNC endpoint is not a socket: the part connects to it itself`);
  },
  'app.launch': (req, ctx) =>
    levelAnd(req, ctx, ({ cage }) => {
      const app = cage.apps.find((a) => a.id === req.appId);
      if (!app) return refuse(`level ${req.level} has no app "${req.appId.slice(0, 64)}"`);
      const same = app.exec.length === req.argv.length && app.exec.every((arg, i) => arg === req.argv[i]);
      return same ? ALLOWED : refuse(`app ${app.id}'s command line is not the policy's`);
    }),
  'app.running': (req, ctx) => levelAnd(req, ctx, () => ALLOWED),
  'home.mount': (req, ctx) =>
    levelAnd(req, ctx, () => {
      const paths = bwrapCagePaths(ctx.stateDir, ctx.runDir, req.level);
      const image = exactPath('image', req.image, paths.homeImage, ctx.stateDir);
      return image.allowed ? exactPath('mount point', req.target, paths.home, ctx.stateDir) : image;
    }),
  'home.unmount': (req, ctx) => levelAnd(req, ctx, () => exactPath('mount point', req.target, bwrapCagePaths(ctx.stateDir, ctx.runDir, req.level).home, ctx.stateDir)),
  'state.chown': (req, ctx) =>
    levelAnd(req, ctx, ({ uid }) => {
      if (req.uid !== uid && req.uid !== 0) return refuse(`uid ${req.uid} is neither level ${req.level}'s (${uid}) nor root`);
      const paths = bwrapCagePaths(ctx.stateDir, ctx.runDir, req.level);
      const inState = pathUnder(req.path, join(ctx.stateDir, 'cages', req.level));
      const inRun = pathUnder(req.path, paths.run);
      if (inState && inRun) return refuse(`chown: ${inState}`);
      return ALLOWED;
    }),
  'xhelper.run': (req, ctx) => levelAnd(req, ctx, () => {
    const why = xArgsRefusal(req.program, req.args);
    return why ? refuse(why) : ALLOWED;
  }),
  'xhelper.screenSize': (req, ctx) => levelAnd(req, ctx, ({ cage }) => {
    const why = cage.geometry === 'auto' ? screenSizeRefusal(req, maxGeometryOf(cage)) : `level ${req.level}'s screen is fixed (${cage.geometry})`;
    return why ? refuse(why) : ALLOWED;
  }),
  // Which xclip is the manager's to know (xHelperRunExecutor.ts): here, only a bwrap level of the policy.
  'xhelper.stop': (req, ctx) => levelAnd(req, ctx, () => ALLOWED),
  'files.helper': (req, ctx) => levelAnd(req, ctx, ({ uid }) => (req.uid === uid ? ALLOWED : refuse(`uid ${req.uid} is not level ${req.level}'s (${uid})`))),
  'usb.probe': (req, ctx) => namedDevice(req.device, ctx),
  'usb.mount': (req, ctx) =>
    levelAnd(req, ctx, () => {
      const device = namedDevice(req.device, ctx);
      if (!device.allowed) return device;
      const folder = join(mediaRootOf(ctx.runDir), req.level);
      const outside = pathUnder(req.target, folder);
      if (outside) return refuse(`mount point: ${outside}`);
      return req.target.slice(folder.length + 1).includes('/') ? refuse('mount point is not a folder of the level\'s media folder') : ALLOWED;
    }),
  'usb.unmount': (req, ctx) => {
    const outside = pathUnder(req.target, mediaRootOf(ctx.runDir));
    return outside ? refuse(`mount point: ${outside}`) : ALLOWED;
  },
  'usb.prepare': (req, ctx) => levelAnd(req, ctx, () => namedDevice(req.device, ctx)),
  'loop.attach': (req, ctx) => {
    const dir = loopBackingDirOf(ctx.policy(), ctx.trainingKeysDir);
    if (!dir) return refuse('the policy names no folder of loop-device keys');
    const outside = pathUnder(req.image, dir);
    return outside ? refuse(`image: ${outside}`) : ALLOWED;
  },
  // Which device is a training key's is the manager's to know (loopDetachExecutor.ts: what loop.attach attached).
  'loop.detach': (_req, ctx) => (loopBackingDirOf(ctx.policy(), ctx.trainingKeysDir) ? ALLOWED : refuse('the policy names no folder of loop-device keys')),
  'pam.check': (req, ctx) => (ctx.workstationUser !== null && req.user === ctx.workstationUser ? ALLOWED : refuse(`user ${req.user} is not the workstation's`)),
  'sound.host': (req, ctx) => {
    // Ending the level's own player or recorder is always allowed: it starts nothing (soundHostExecutor.ts).
    if (req.action === 'stop') return ALLOWED;
    const policy = ctx.policy();
    if (!policy.audio.enabled) return refuse('sound is off in the policy');
    if (!policy.levels.some((l) => l.id === req.level)) return refuse(`no level "${req.level}" in the running policy`);
    return req.direction === 'record' && !policy.audio.microphone.includes(req.level) ? refuse(`level ${req.level} may not have the microphone`) : ALLOWED;
  },
  'sleep.inhibit': () => ALLOWED,
  'sleep.wait': () => ALLOWED,
  // No argument: the manager reads its own file again, never a policy of the part's (managerPolicyReload.ts).
  'policy.reload': () => ALLOWED,
  'policy.current': () => ALLOWED,
  'training.spoof': (req, ctx) => levelAnd(req, ctx, () => (ctx.policy().training === 'allowed' ? ALLOWED : refuse('the policy forbids training'))),
  'training.document': (req, ctx) => levelAnd(req, ctx, () => (ctx.policy().training === 'allowed' ? ALLOWED : refuse('the policy forbids training'))),
  'sound.fifos': (req, ctx) => levelAnd(req, ctx, () => (ctx.policy().audio.enabled ? ALLOWED : refuse('sound is off in the policy'))),
  // A dropped level's cage is still stopped, and asked to quit first, as cage.stop allows.
  'cage.quitApps': (req, ctx) => (ctx.holdsCage?.(req.level) ? ALLOWED : levelAnd(req, ctx, () => ALLOWED)),
  'app.windows': (req, ctx) => levelAnd(req, ctx, () => ALLOWED),
  'cage.notice': (req, ctx) => (ctx.holdsCage?.(req.level) ? ALLOWED : levelAnd(req, ctx, () => ALLOWED)),
  // Only a level the running policy puts on WireGuard: a level with no tunnel has nothing to measure.
  'tunnel.status': (req, ctx) => levelAnd(req, ctx, ({ cage }) => (isWireguard(cage.network) ? ALLOWED : refuse(`level ${req.level} has no tunnel in the running policy`))),
  // A level's card proxy only where the policy gives that level the card; stopping one is always allowed (a withdrawn card).
  'card.proxy': (req, ctx) => (req.action === 'stop' ? ALLOWED : cardLevel(req.level, ctx)),
  'card.socket': (req, ctx) => cardLevel(req.level, ctx),
  // Only with a card in the running policy: without one there is no reader to watch.
  'card.presence': (_req, ctx) => (ctx.policy().smartcard ? ALLOWED : refuse('the policy gives no level a card')),
};

function cardLevel(level: string, ctx: AuthorizationContext): Authorization {
  return ctx.policy().smartcard?.levels[level] ? ALLOWED : refuse(`the policy gives level "${level.slice(0, 40)}" no card`);
}
