/**
 * What the unprivileged part (user `cloison`) may ask the root cage manager: every operation of
 * the supervisor that needs root, one schema each, with why it needs root (issue #29). Nothing else
 * crosses: a request whose `op` is not here, or whose fields do not parse, is refused before the
 * policy is even looked at (requestAuthorization.ts checks what parses against the running policy).
 *
 * The schemas are closed (`.strict()`): no field the manager would ignore, so nothing can ride along.
 * Strings that become arguments of a program are narrowed here to their own alphabet (a level id,
 * a device name), never left free for the authorization step alone to catch.
 */
import { z } from 'zod';
import { levelIdSchema } from '../../shared/policy';
import { fileName as trainingFileName } from '../../shared/trainingScenario';

const uidSchema = z.number().int().min(0).max(2 ** 32 - 2);
/** An absolute path as text: the authorization decides whether it lies under the state folder. */
const pathSchema = z.string().min(1).max(4096).startsWith('/', 'an absolute path');
/** A block device node: /dev/sdb, /dev/sdb1, /dev/loop7, /dev/mmcblk0p1, /dev/nvme0n1p2. */
export const BLOCK_DEVICE = /^\/dev\/(sd[a-z]{1,2}\d{0,3}|loop\d{1,4}|mmcblk\d{1,2}(p\d{1,3})?|nvme\d{1,2}n\d{1,2}(p\d{1,3})?|vd[a-z]{1,2}\d{0,3})$/;
const deviceSchema = z.string().regex(BLOCK_DEVICE, 'a block device node such as /dev/sdb1');
const modeSchema = z.enum(['read-only', 'read-write']);
/** What the X helper sandbox (a uid of its own each run, on one cage's X socket) may run: the tools the supervisor uses. */
export const X_HELPER_PROGRAMS = ['xclip', 'xsetroot', 'setxkbmap'] as const;
/** A screen side in pixels: the authorization holds it within the level's bounds (xHelperRunArguments.ts). */
const screenSideSchema = z.number().int().min(1).max(99_999);
/** An argument of an X helper tool: options and values, never a path or a shell word. */
const xArgSchema = z.string().max(256).regex(/^[A-Za-z0-9_.:=,+#-]*$/, 'an X helper argument is letters, digits and . : = , + # - _');

export const rootRequestSchemas = {
  /** Start a level's cage: bwrap with its namespaces, as the level's uid, under its control group. */
  'cage.start': z.object({ op: z.literal('cage.start'), level: levelIdSchema, uid: uidSchema }).strict(),
  /** Stop a level's cage: kill its control group, unmount its filesystems. */
  'cage.stop': z.object({ op: z.literal('cage.stop'), level: levelIdSchema }).strict(),
  /** Wait for a level's cage to end: answered with its exit once it ends (at once if it has, until its next start). */
  'cage.wait': z.object({ op: z.literal('cage.wait'), level: levelIdSchema }).strict(),
  /** Connect to a cage's VNC socket, check its peer, hand the connection over (a file descriptor). */
  'cage.vncSocket': z.object({ op: z.literal('cage.vncSocket'), level: levelIdSchema }).strict(),
  /** Connect to a vnc level's own socket endpoint as the running policy names it (a VM's, root's), hand the connection over (a file descriptor). */
  'vnc.connect': z.object({ op: z.literal('vnc.connect'), level: levelIdSchema }).strict(),
  /** Start one of a level's applications through the cage's launcher channel. */
  'app.launch': z.object({ op: z.literal('app.launch'), level: levelIdSchema, appId: z.string().min(1).max(64), argv: z.array(z.string().max(4096)).min(1).max(256) }).strict(),
  /** Which of a level's applications its cage's launcher started and still run (the app launcher's counts). */
  'app.running': z.object({ op: z.literal('app.running'), level: levelIdSchema }).strict(),
  /** Reserve, check and mount a cage's home image (fallocate, mkfs/e2fsck/resize2fs, losetup, mount). */
  'home.mount': z.object({ op: z.literal('home.mount'), level: levelIdSchema, image: pathSchema, target: pathSchema }).strict(),
  /** Unmount a cage's home and scratch, detach its loop device. */
  'home.unmount': z.object({ op: z.literal('home.unmount'), level: levelIdSchema, target: pathSchema }).strict(),
  /** Give the cage's user a folder of the state (chown): its home's root, its socket folders. */
  'state.chown': z.object({ op: z.literal('state.chown'), level: levelIdSchema, path: pathSchema, uid: uidSchema }).strict(),
  // No network.nat nor network.wireguard: cage.start's driver attaches a level's slirp4netns or
  // tunnel itself (bwrapDriver.ts); the part has no network request to make.
  /** Run an X tool on one cage's X server from the X helper sandbox (a uid of its own each run). */
  'xhelper.run': z.object({ op: z.literal('xhelper.run'), level: levelIdSchema, program: z.enum(X_HELPER_PROGRAMS), args: z.array(xArgSchema).max(16) }).strict(),
  /** Set a cage's screen to width x height: the supervisor's resize script (screen/xScreen.ts) in one X helper sandbox. */
  'xhelper.screenSize': z.object({ op: z.literal('xhelper.screenSize'), level: levelIdSchema, width: screenSideSchema, height: screenSideSchema }).strict(),
  /** Stop a selection the manager's xclip serves for a level (xhelper.run's serving answer names its connection). */
  'xhelper.stop': z.object({ op: z.literal('xhelper.stop'), level: levelIdSchema, connection: z.number().int().min(1).max(2 ** 31) }).strict(),
  /** Run the file helper on one cage's home, as that cage's uid. */
  'files.helper': z.object({ op: z.literal('files.helper'), level: levelIdSchema, uid: uidSchema }).strict(),
  /** Read what filesystem a device holds: blkid in a sandbox, the device set read-only meanwhile. */
  'usb.probe': z.object({ op: z.literal('usb.probe'), device: deviceSchema }).strict(),
  /** Mount a device in one level's media folder (nosuid,nodev,noexec; read-only sets the device read-only). */
  'usb.mount': z.object({ op: z.literal('usb.mount'), device: deviceSchema, level: levelIdSchema, mode: modeSchema, target: pathSchema }).strict(),
  /** Unmount a device from a level's media folder. */
  'usb.unmount': z.object({ op: z.literal('usb.unmount'), device: deviceSchema, target: pathSchema }).strict(),
  /** Erase a key, write or read its mark, make its filesystem (dd, header writes, losetup + mkfs.ext4). */
  'usb.prepare': z.object({ op: z.literal('usb.prepare'), device: deviceSchema, level: levelIdSchema, action: z.enum(['mark', 'unmark']) }).strict(),
  /** Attach an image as a loop device (training keys). */
  'loop.attach': z.object({ op: z.literal('loop.attach'), image: pathSchema }).strict(),
  /** Detach a training key's loop device once its image is removed (only one loop.attach attached, still over that file). */
  'loop.detach': z.object({ op: z.literal('loop.detach'), device: z.string().regex(/^\/dev\/loop\d{1,4}$/, 'a loop device node such as /dev/loop7') }).strict(),
  /** Check the workstation user's password with PAM, as that user (pamtester under setpriv). */
  'pam.check': z.object({ op: z.literal('pam.check'), user: z.string().regex(/^[a-z_][a-z0-9_.-]{0,31}\$?$/, 'a user name'), password: z.string().max(1024) }).strict(),
  /** Play a level's sound on, or record the microphone from, the workstation user's sound server (as that user). */
  'sound.host': z.object({ op: z.literal('sound.host'), level: levelIdSchema, direction: z.enum(['playback', 'record']), action: z.enum(['start', 'stop']).optional() }).strict(),
  /** Hold logind's sleep delay inhibitor and watch PrepareForSleep (system bus monitor). */
  'sleep.inhibit': z.object({ op: z.literal('sleep.inhibit') }).strict(),
  /** Wait for the machine's next sleep: answered when logind announces it (PrepareForSleep), so the part locks first. */
  'sleep.wait': z.object({ op: z.literal('sleep.wait') }).strict(),
  /** Read the manager's own policy file again (no text from the part): an administrator's reload reaches the manager first. */
  'policy.reload': z.object({ op: z.literal('policy.reload') }).strict(),
  /** The policy text the manager runs: the part parses it instead of reading the file (one reading, the manager's). */
  'policy.current': z.object({ op: z.literal('policy.current') }).strict(),
  /** Show (or take down) a training look-alike of the shell in a level's cage: the manager builds its program. */
  'training.spoof': z.object({ op: z.literal('training.spoof'), level: levelIdSchema, look: z.enum(['band', 'dialog', 'lock']), action: z.enum(['show', 'hide']) }).strict(),
  /** Put a training document in a level's ~/Formation, written by a process of the cage's own. */
  'training.document': z.object({ op: z.literal('training.document'), level: levelIdSchema, name: trainingFileName, content: z.string().max(64 * 1024) }).strict(),
  /** Hand over a running cage's sound FIFOs (its playback, its microphone where the policy gives it): the manager's own paths, opened as descriptors. */
  'sound.fifos': z.object({ op: z.literal('sound.fifos'), level: levelIdSchema }).strict(),
  /** Ask a level's apps to quit as the user would before its cage stops, within the policy's bound (appQuit.ts). */
  'cage.quitApps': z.object({ op: z.literal('cage.quitApps'), level: levelIdSchema }).strict(),
  /** How many windows each of a level's apps has open (the app launcher's counts of the apps whose windows' class is known). */
  'app.windows': z.object({ op: z.literal('app.windows'), level: levelIdSchema }).strict(),
  /** The next limit a level's running cage reached (memory, tasks, home) after the notice numbered `after`: pending until one comes or the cage ends. */
  'cage.notice': z.object({ op: z.literal('cage.notice'), level: levelIdSchema, after: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional() }).strict(),
  /** A level's WireGuard tunnel as its driver measures it (state, handshake age, endpoint, reason): the band's figures, never a key. */
  'tunnel.status': z.object({ op: z.literal('tunnel.status'), level: levelIdSchema }).strict(),
  /** Start or stop a level's card proxy (pkcs11proxyd as the level's proxy uid, its filter from the running policy). */
  'card.proxy': z.object({ op: z.literal('card.proxy'), level: levelIdSchema, action: z.enum(['start', 'stop']) }).strict(),
  /** Connect to a level's running card proxy and hand the connection over (a file descriptor): one per cage connection. */
  'card.socket': z.object({ op: z.literal('card.socket'), level: levelIdSchema }).strict(),
  /** Wait for the card to be pulled out, put back or swapped: answered when the manager's count of reader changes is not `after` (at once if it already is not). */
  'card.presence': z.object({ op: z.literal('card.presence'), after: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).optional() }).strict(),
} as const;

export type RootOp = keyof typeof rootRequestSchemas;
const schemas = Object.values(rootRequestSchemas);
export const rootRequestSchema = z.discriminatedUnion('op', schemas as unknown as [typeof schemas[0], ...typeof schemas]);
export type RootRequest = z.infer<typeof rootRequestSchema>;
export type RequestOf<O extends RootOp> = z.infer<(typeof rootRequestSchemas)[O]>;

/** Why each request needs root, and the code that does it today: the list docs/least-privilege.md prints. */
export const WHY_ROOT: Record<RootOp, { why: string; code: string }> = {
  'cage.start': { why: 'namespaces and mounts as root (CAP_SYS_ADMIN), then setpriv to the level\'s uid (CAP_SETUID/CAP_SETGID); the cage\'s seccomp filter installed by bwrap', code: 'cages/bwrapDriver.ts, sandbox/bwrapSpawn.ts' },
  'cage.stop': { why: 'signals processes of another uid (CAP_KILL), writes cgroup.kill of a root-owned group, unmounts (CAP_SYS_ADMIN)', code: 'cages/bwrapDriver.ts, cages/cageCgroup.ts, cages/cageMounts.ts' },
  'cage.wait': { why: 'the cage is the manager\'s child (bwrap\'s exit, its control group\'s memory events): only the manager sees it end', code: 'cages/bwrapDriver.ts (RunningCage.exited)' },
  'cage.vncSocket': { why: 'the socket is the cage uid\'s in a root folder; checking its peer\'s pid namespace reads /proc/<pid>/ns of another uid (CAP_SYS_PTRACE)', code: 'cages/bwrapDriver.ts (connectVnc), sandbox/peerCredentials.ts' },
  'vnc.connect': { why: 'a vnc level\'s socket is its server\'s (a VM\'s, libvirt\'s: root\'s, in a root folder): connecting needs root (CAP_DAC_OVERRIDE); the path is the running policy\'s, opened without following a link', code: 'cages/vncDriver.ts, cages/rfbProbe.ts; the executor: cageManager/vncServerExecutor.ts' },
  'app.launch': { why: 'the launcher channel of each cage is made by the root part at cage start; holding it is running any program as that cage\'s user', code: 'cages/cageLauncher.ts, cages/sessionApps.ts' },
  'app.running': { why: 'the same launcher channel, the manager\'s: only it hears which programs the launcher started and which have ended', code: 'cages/cageLauncher.ts (launched), apps/appLauncher.ts' },
  'home.mount': { why: 'fallocate of a root-owned image, the image\'s descriptor attached to a free loop device (/dev/loop-control, LOOP_CONFIGURE), mount (CAP_SYS_ADMIN), mkfs/e2fsck on the image', code: 'cages/cageMounts.ts, cages/homeReservation.ts, cages/loopDevice.ts' },
  'home.unmount': { why: 'umount (CAP_SYS_ADMIN), losetup -d', code: 'cages/cageMounts.ts' },
  'state.chown': { why: 'chown to the cage\'s uid and back to root (CAP_CHOWN): home root, vnc/x11 socket folders, sound FIFOs', code: 'cages/cageMounts.ts, audio/cageSound.ts' },
  'xhelper.run': { why: 'bwrap as root then setpriv to a uid of the run\'s own; the cage\'s X socket folder is root\'s 0700', code: 'clipboard/xSelection.ts, screen/xScreen.ts (the colour), keyboard/cageKeymap.ts' },
  'xhelper.screenSize': { why: 'bwrap as root then setpriv to a uid of the run\'s own, on the cage\'s X socket folder (root\'s 0700); the sizes are the request\'s, the script the manager\'s', code: 'screen/xScreen.ts; the executor: cageManager/xScreenSizeExecutor.ts' },
  'xhelper.stop': { why: 'the serving xclip is the manager\'s child, its sandbox run as root then a uid of its own: only the manager can signal it', code: 'clipboard/xSelection.ts (SelectionServer.stop)' },
  'files.helper': { why: 'bwrap as root then setpriv to the cage\'s uid over its home', code: 'files/cageFileSandbox.ts' },
  'usb.probe': { why: 'reads a raw block device (root:disk), BLKROSET needs CAP_SYS_ADMIN, the sandbox as root', code: 'usb/filesystemProbe.ts' },
  'usb.mount': { why: 'mount (CAP_SYS_ADMIN) and blockdev --setro', code: 'usb/mediaMounts.ts' },
  'usb.unmount': { why: 'umount (CAP_SYS_ADMIN)', code: 'usb/mediaMounts.ts' },
  'usb.prepare': { why: 'writes a raw block device (dd, the mark header), losetup over its data region, mkfs.ext4 owned by the cage', code: 'usb/keyPreparation.ts, usb/keyMarks.ts' },
  'loop.attach': { why: 'a free loop device from /dev/loop-control, the checked descriptor attached to it (LOOP_CONFIGURE, CAP_SYS_ADMIN)', code: 'training/trainingKeys.ts, cages/loopDevice.ts; the executor: cages/loopOverDescriptor.ts' },
  'loop.detach': { why: 'LOOP_CLR_FD on a loop device (root:disk), on the descriptor checked to be over the image loop.attach attached', code: 'training/trainingKeys.ts (unplug), cages/loopDevice.ts' },
  'pam.check': { why: 'runs pamtester as the workstation user (CAP_SETUID): pam_unix checks only the caller\'s own password', code: 'session/pamCheck.ts' },
  'sound.host': { why: 'runs pacat/parec as the workstation user (CAP_SETUID) to reach that user\'s sound server, and ends them (action stop: a process of that user)', code: 'audio/hostSound.ts' },
  'sleep.inhibit': { why: 'a delay inhibitor needs polkit\'s root default; monitoring the system bus needs root', code: 'session/sleepGuard.ts' },
  'sleep.wait': { why: 'the sleep is announced on the system bus the manager monitors for sleep.inhibit (root): the part learns of it only from the manager', code: 'session/sleepGuard.ts (PrepareForSleep), session/remoteSleepGuard.ts' },
  'policy.reload': { why: 'kept only to be refused: the manager reads its own file again at its SIGHUP alone, the administrator\'s moment (a part choosing it had a stalled save\'s cut policy applied, #29 review)', code: 'admin/partReloadRefused.ts; the executor: cageManager/managerPolicyReload.ts' },
  'policy.current': { why: 'one reading of the policy, the manager\'s (#29): the part runs the text root took (settled, checked whole), never a file it read itself at another moment', code: 'cageManager/policyTextFromManager.ts; the executor: cageManager/managerPolicyReload.ts' },
  'training.spoof': { why: 'the launcher channel of each cage is the manager\'s (app.launch): the look-alike\'s program, built from the running policy, goes through it', code: 'training/drills/spoofDrill.ts, cages/trainingPrograms.ts' },
  'training.document': { why: 'the same launcher channel: a fixed shell line writes the document as the cage\'s user, no path of the cage\'s followed as root', code: 'training/drills/rightLevelDrill.ts' },
  'sound.fifos': { why: 'the cage\'s FIFOs are in root\'s run folder (root\'s, the cage\'s group\'s 0660): opening them needs root (CAP_DAC_OVERRIDE)', code: 'cages/cageSound.ts, audio/soundPart.ts; the executor: cageManager/soundFifosExecutor.ts' },
  'cage.quitApps': { why: 'the same launcher channel, the manager\'s: wmctrl and xprop run as cage processes to close and count the windows', code: 'cages/appQuit.ts' },
  'app.windows': { why: 'the same launcher channel, the manager\'s: xprop runs as a cage process to read the windows\' classes', code: 'apps/cageWindows.ts' },
  'cage.notice': { why: 'the cage\'s control group counters and its home are watched by its driver, the manager\'s: only it sees a limit reached', code: 'cages/bwrapDriver.ts (watchLimits, RunningCage.onNotice)' },
  'tunnel.status': { why: 'the tunnel is the cage driver\'s, the manager\'s: wireguard-go\'s control socket is root\'s and the interface in the cage\'s namespace; only it measures the last handshake', code: 'network/tunnelWatch.ts, cages/bwrapDriver.ts (attachTunnel); the executor: cageManager/tunnelStatusExecutor.ts' },
  'card.proxy': { why: 'pkcs11proxyd runs as the level\'s proxy uid (setpriv, CAP_SETUID/CAP_SETGID) in a control group of its own, its folders chowned to that uid (CAP_CHOWN)', code: 'smartcard/levelCardProxy.ts; the executor: cageManager/cardProxyExecutor.ts' },
  'card.socket': { why: 'the proxy\'s socket is in its uid\'s 0700 folder: connecting needs root (CAP_DAC_OVERRIDE)', code: 'smartcard/recordGuard.ts (its target); the executor: cageManager/cardProxyExecutor.ts' },
  'card.presence': { why: 'the reader is listed by loading the module as a card proxy\'s uid (setpriv, CAP_SETUID/CAP_SETGID), and the proxies a pulled card restarts are the manager\'s: it restarts them itself, the part only learns of it', code: 'smartcard/cardPresence.ts; the executor: cageManager/cardPresenceWatch.ts' },
};
