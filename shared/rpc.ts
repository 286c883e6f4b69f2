/**
 * The one RPC contract between the shell (renderer, Electron main) and the supervisor.
 *
 * Every request, response and event is a zod schema here; both transports (Electron IPC relayed to
 * the supervisor's Unix socket, or the browser host's WebSocket) validate what they receive with
 * these schemas. Events are named onX.
 */
import { z } from 'zod';
import { bilingualSchema } from './bilingual';
import { ERROR_CODES } from './errors';
import { deviceModeSchema, levelIdSchema } from './policy';
import { trustSettingSchema, trustSymbolSchema } from './trustPhrase';
import { trainingViewSchema } from './trainingScenario';
import { keyboardLayoutViewSchema } from './keyboardLayout';

export const levelViewSchema = z.object({
  id: levelIdSchema,
  rank: z.number().int(),
  label: z.object({ fr: z.string(), en: z.string() }),
  colour: z.string(),
  textColour: z.string(),
  /** The cage shares the host's network namespace (`network: host`): the band warns. */
  hostNetwork: z.boolean().default(false),
});
export type LevelView = z.infer<typeof levelViewSchema>;

export const CAGE_STATUSES = ['starting', 'running', 'crashed', 'stopped'] as const;
export const cageStatusSchema = z.enum(CAGE_STATUSES);
export type CageStatus = z.infer<typeof cageStatusSchema>;

export const cageStateSchema = z.object({
  level: levelIdSchema,
  status: cageStatusSchema,
  /** Reason for crashed/stopped, or a limit reached while running: supervisor-written, never a cage's. */
  detail: z.string().max(500).optional(),
  /** The detail in both languages, for the shell to show in its own. */
  detailText: bilingualSchema.optional(),
  restarts: z.number().int().min(0),
});
export type CageState = z.infer<typeof cageStateSchema>;

/**
 * Cloison is stopping (any cause: Ctrl+C, SIGTERM, the shell's window closed, the service stopped):
 * each level's applications were asked to close, for at most `seconds`; `closing` lists the levels
 * still waiting for theirs (a question such as "save changes?" may be open there). Written by the
 * supervisor from its own stop, never from a cage's word.
 */
export const stoppingViewSchema = z.object({
  seconds: z.number().int().min(0).max(120),
  closing: z.array(levelIdSchema).max(64),
  /**
   * How long ago the stop began, by the supervisor's clock: given to a shell that comes during the
   * wait (session.describe), so its "at most" counts from the stop's start, not from its own.
   */
  elapsedMs: z.number().int().min(0).max(600_000).optional(),
});
export type StoppingView = z.infer<typeof stoppingViewSchema>;

const levelParams = z.object({ level: levelIdSchema }).strict();

/** What the brokered clipboard holds, as the shell may show it: metadata, never the content. */
export const heldClipboardSchema = z.object({
  source: levelIdSchema,
  bytes: z.number().int(),
  lines: z.number().int(),
  heldAt: z.number(),
  expiresAt: z.number(),
  singleUse: z.boolean(),
  /** Which of the cage's X selections it came from: CLIPBOARD (Copy), or PRIMARY (a plain selection). */
  selection: z.enum(['clipboard', 'primary']).optional(),
});
export type HeldClipboard = z.infer<typeof heldClipboardSchema>;

/** One file in a transfer question: display name (invisibles made visible), size, detected type. */
export const transferFileSchema = z.object({
  name: z.string(),
  size: z.number().int(),
  type: z.string(),
  /** `convert`: what crosses instead of the file: a PDF of its pages' pixels, with thumbnails the supervisor drew from them. */
  converted: z.object({ landAs: z.string(), pages: z.number().int(), size: z.number().int(), thumbnails: z.array(z.string().startsWith('data:image/png;base64,')) }).optional(),
});

export const filesConfirmSchema = z.object({
  id: z.string(),
  kind: z.literal('files'),
  from: levelIdSchema,
  to: levelIdSchema,
  direction: z.enum(['up', 'down', 'lateral']),
  files: z.array(transferFileSchema),
  totalBytes: z.number().int(),
  /** Files the policy already refused, with why: shown so the user sees the whole picture. */
  refused: z.array(z.object({ name: z.string(), reason: z.string(), reasonText: bilingualSchema.optional() })),
  justification: z.string().nullable(),
  /** The encrypting diode: whom the files will be encrypted to (user id made visible, fingerprint). */
  encryptTo: z.array(z.object({ uid: z.string(), fingerprint: z.string() })).nullable().default(null),
});

/** A question the supervisor asks the user through the shell's trusted dialog. */
export const clipboardConfirmSchema = z.object({
  id: z.string(),
  kind: z.literal('clipboard'),
  from: levelIdSchema,
  to: levelIdSchema,
  direction: z.enum(['up', 'down', 'lateral']),
  what: z.object({
    kind: z.literal('text'),
    bytes: z.number().int(),
    lines: z.number().int(),
    /** The text's start with invisible and direction-changing characters made visible. */
    preview: z.string(),
    previewTruncated: z.boolean(),
    /** For a long text, its end too (made visible the same way), and how many characters lie unshown between. */
    previewTail: z.string(),
    previewOmitted: z.number().int(),
    invisibles: z.number().int(),
    /** Control characters removed before anything crossed. */
    stripped: z.number().int(),
  }),
});
/** Marking a key for a level, or unmarking it: both erase it, so the user confirms in a trusted dialog. */
export const deviceConfirmSchema = z.object({
  id: z.string(),
  kind: z.literal('device'),
  action: z.enum(['mark', 'unmark']),
  /** The level a key is being marked for (null when unmarking). */
  level: levelIdSchema.nullable(),
  device: z.lazy(() => deviceViewSchema),
});
/** The card's PIN asked in the trusted dialog (`smartcard.pin: trusted`): the level whose cage logs in, the application's own name for itself. */
export const pinConfirmSchema = z.object({
  id: z.string(),
  kind: z.literal('pin'),
  level: levelIdSchema,
  /** The connecting process's name (/proc comm): chosen by the cage, shown as the application's claim. */
  application: z.string().max(64),
});
export const confirmRequestSchema = z.discriminatedUnion('kind', [clipboardConfirmSchema, filesConfirmSchema, deviceConfirmSchema, pinConfirmSchema]);
export type ConfirmRequest = z.infer<typeof confirmRequestSchema>;
export type ClipboardConfirmRequest = z.infer<typeof clipboardConfirmSchema>;
export type FilesConfirmRequest = z.infer<typeof filesConfirmSchema>;
export type PinConfirmRequest = z.infer<typeof pinConfirmSchema>;
export type DeviceConfirmRequest = z.infer<typeof deviceConfirmSchema>;

export const transferResultSchema = z.object({
  path: z.string(),
  name: z.string(),
  outcome: z.enum(['copied', 'refused', 'denied', 'cancelled', 'failed']),
  landedAs: z.string().optional(),
  size: z.number().int().optional(),
  type: z.string().optional(),
  sha256: z.string().optional(),
  reason: z.string().optional(),
  /** The reason in both languages, for the shell to show in its own. */
  reasonText: bilingualSchema.optional(),
  /** Landed encrypted (the diode): `landedAs` ends in .gpg; `size` and `sha256` are the ciphertext's. */
  encrypted: z.boolean().optional(),
  /** Landed converted (a PDF rebuilt from pixels): `size` and `sha256` are the converted PDF's. */
  converted: z.object({ pages: z.number().int() }).optional(),
});
export type TransferResult = z.infer<typeof transferResultSchema>;

export const clipboardOutcomeSchema = z.object({
  outcome: z.enum(['pasted', 'denied', 'refused', 'timed-out']),
  reason: z.string().optional(),
  /** The reason in both languages, for the shell to show in its own. */
  reasonText: bilingualSchema.optional(),
});

/**
 * A storage device as the shell may show it. Every identity string was read from the device (so it
 * is attacker-chosen) and is sanitised by the supervisor: invisibles made visible, length capped.
 */
export const DEVICE_STATES = ['waiting', 'attaching', 'attached', 'ejecting', 'detached', 'ignored', 'unusable', 'preparing'] as const;
/**
 * A key's mark: none; marked here for a level; marked by another workstation (treated as unmarked);
 * or refused (forged, truncated, damaged) with the supervisor's reason.
 */
export const deviceMarkSchema = z.object({
  status: z.enum(['none', 'valid', 'foreign', 'invalid']),
  level: levelIdSchema.nullable(),
  reason: z.string().nullable(),
  /** The reason in both languages, for the shell to show in its own. */
  reasonText: bilingualSchema.optional(),
});
export type DeviceMark = z.infer<typeof deviceMarkSchema>;
export const deviceTargetViewSchema = z.object({ level: levelIdSchema, mode: deviceModeSchema });
export const deviceViewSchema = z.object({
  id: z.string(),
  bus: z.enum(['usb', 'loop']),
  vendorId: z.string(),
  productId: z.string(),
  vendor: z.string(),
  product: z.string(),
  serial: z.string(),
  sizeBytes: z.number().int().min(0),
  fsType: z.string().nullable(),
  label: z.string().nullable(),
  uuid: z.string().nullable(),
  state: z.enum(DEVICE_STATES),
  /** Where it is (or was last) attached. */
  level: levelIdSchema.nullable(),
  mode: deviceModeSchema.nullable(),
  /** The folder name under ~/Media in the cage. */
  mediaName: z.string().nullable(),
  /** Set when a policy rule binds the device: it can go nowhere else. */
  boundTo: z.object({ level: levelIdSchema, mode: deviceModeSchema, rule: z.string() }).nullable(),
  /** Where the user may attach it (for a bound device, its level only). */
  choices: z.array(deviceTargetViewSchema),
  /** The choice the dialog suggests first (a rule matched the device's identity), or null. */
  preselect: deviceTargetViewSchema.nullable(),
  mark: deviceMarkSchema,
  /** Unmounted and synced: the user may pull it out. */
  safeToRemove: z.boolean(),
  /** Why it cannot be used, or why the last attach failed (supervisor's words). */
  problem: z.string().nullable(),
  /** The problem in both languages, for the shell to show in its own. */
  problemText: bilingualSchema.optional(),
});
export type DeviceView = z.infer<typeof deviceViewSchema>;
export type DeviceTargetView = z.infer<typeof deviceTargetViewSchema>;

const empty = z.object({}).strict();

/**
 * A level's WireGuard tunnel as the supervisor measures it (never as the cage says): connecting
 * (no handshake yet), up (a handshake within the last 3 minutes), down (none for longer: nothing
 * leaves), failed (it could not be set up: the cage has no route at all), with the reason.
 */
export const tunnelViewSchema = z.object({
  level: levelIdSchema,
  state: z.enum(['connecting', 'up', 'down', 'failed']),
  handshakeAgeSeconds: z.number().int().min(0).nullable(),
  endpoint: z.string(),
  reason: z.string().nullable(),
  /** The reason in both languages, for the shell to show in its own. */
  reasonText: bilingualSchema.optional(),
});
export type TunnelView = z.infer<typeof tunnelViewSchema>;

/**
 * Sound per level as the band shows it: playing (measured from the bytes that flow, not said by
 * the cage), muted, volume, recording (the microphone is this level's), and whether the host's
 * sound server is reached at all.
 */
export const audioViewSchema = z.object({
  enabled: z.boolean(),
  host: z.object({ state: z.enum(['connected', 'none', 'failed']), reason: z.string().nullable(), reasonText: bilingualSchema.optional() }),
  microphone: levelIdSchema.nullable(),
  levels: z.array(
    z.object({
      level: levelIdSchema,
      available: z.boolean(),
      playing: z.boolean(),
      recording: z.boolean(),
      muted: z.boolean(),
      volume: z.number().int().min(0).max(100),
      micAllowed: z.boolean(),
    }),
  ),
});
export type AudioView = z.infer<typeof audioViewSchema>;

/** The smart card: shared by the levels the policy names, or (exclusive) with one level at a time. */
export const smartcardViewSchema = z.object({
  exclusive: z.boolean(),
  holder: levelIdSchema.nullable(),
  levels: z.array(z.object({ level: levelIdSchema, serving: z.boolean() })),
  /** Whether a card is in the reader (absent until the supervisor has asked). */
  present: z.boolean().optional(),
});
export type SmartcardView = z.infer<typeof smartcardViewSchema>;

/** One crossing or decision, as the trainer's flow view draws it (from the journal, metadata only). */
export const flowItemSchema = z.object({
  seq: z.number().int(),
  time: z.string(),
  kind: z.enum(['clipboard', 'files', 'usb', 'microphone', 'report']),
  from: levelIdSchema.nullable(),
  to: levelIdSchema.nullable(),
  bytes: z.number().int().nullable(),
  decision: z.string(),
  actor: z.string(),
});
export type FlowItem = z.infer<typeof flowItemSchema>;

/** The workstation's lock as the shell may show it (supervisor/session/sessionLock.ts). */
export const lockViewSchema = z.object({
  locked: z.boolean(),
  /** Failed unlocks since the lock, and how long until the next attempt is taken. */
  failures: z.number().int().min(0),
  retryInMs: z.number().int().min(0),
  /** The policy's maxFailures reached: the lock screen says so (the journal has marked it). */
  tooManyFailures: z.boolean(),
  /** The delay in force, the policy's own, and the longest the user may choose for this session. */
  lockAfterSeconds: z.number().int(),
  policyLockAfterSeconds: z.number().int(),
  userMayExtendUpTo: z.number().int(),
  /** Whose password unlocks; null when the supervisor knows no user for its shell. */
  user: z.string().nullable(),
  /** Whether the machine's sleep waits for the lock (a logind delay inhibitor). */
  beforeSleep: z.enum(['logind', 'unavailable']),
});
export type LockView = z.infer<typeof lockViewSchema>;

/** A level's applications as its trusted launcher lists them: from the policy and the host's .desktop files. */
export const appViewSchema = z.object({
  id: z.string().max(64),
  name: z.object({ fr: z.string().max(60), en: z.string().max(60) }),
  /** A PNG as a data: URL (from the host's icon theme), or null: the shell draws a letter tile. */
  icon: z.string().max(96 * 1024).startsWith('data:image/png;base64,').nullable(),
  /** Copies started by the launcher and still running. */
  running: z.number().int().min(0),
});
export type AppView = z.infer<typeof appViewSchema>;
export const levelAppsSchema = z.object({ level: levelIdSchema, apps: z.array(appViewSchema) });
export type LevelApps = z.infer<typeof levelAppsSchema>;

export const rpcMethods = {
  'session.describe': {
    params: empty,
    result: z.object({
      levels: z.array(levelViewSchema),
      cages: z.array(cageStateSchema),
      focus: levelIdSchema,
      shortcuts: z.object({ switchLevel: z.string(), copyOut: z.string(), pasteIn: z.string(), lock: z.string(), secureAttention: z.string() }),
      lock: lockViewSchema,
      tunnels: z.array(tunnelViewSchema),
      audio: audioViewSchema,
      /** The smart card (null: the policy gives it to no level). */
      smartcard: smartcardViewSchema.nullable().optional(),
      /** The training session, when the supervisor runs one (the band is then marked TRAINING). */
      training: trainingViewSchema.nullable(),
      /** This shell's session: viewers opened under another one are shown as such (onViewers). */
      session: z.string(),
      viewers: z.array(z.object({ level: levelIdSchema, session: z.string() })),
      /** Each level's viewer origin in the browser host (one per level); empty for a shell on the Unix socket. */
      viewerOrigins: z.record(z.string(), z.string()),
      /** The cages' keyboard layout (the policy's, else the host's): shown in the band and the lock screen. */
      keyboard: keyboardLayoutViewSchema,
      /** The shell's language: the policy's, else the host's locale (never the browser's). */
      locale: z.enum(['fr', 'en']),
      /** Cloison is stopping: the last onStopping, for a shell that comes during the wait (null: it is not). */
      stopping: stoppingViewSchema.nullable().optional(),
    }),
  },
  /**
   * A one-time address for a new browser-host shell (its launch secret in the fragment). Only over
   * the shell's Unix socket, whose file permissions are the authority: never over the WebSocket.
   */
  'shell.launch': { params: empty, result: z.object({ url: z.string(), expiresInMs: z.number() }) },
  'vnc.ticket': {
    params: levelParams,
    result: z.object({ ticket: z.string(), path: z.string(), expiresInMs: z.number() }),
  },
  'focus.set': { params: levelParams, result: z.object({ level: levelIdSchema }) },
  'cage.restart': { params: levelParams, result: z.object({}) },
  /** The size of the frame the shell draws a cage in (CSS px and pixel ratio); the supervisor decides the cage's screen from it. */
  'cage.frameSize': {
    params: z.object({ level: levelIdSchema, width: z.number().min(0).max(100_000), height: z.number().min(0).max(100_000), devicePixelRatio: z.number().min(0.25).max(8) }).strict(),
    result: z.object({ screen: z.object({ width: z.number().int(), height: z.number().int() }).nullable() }),
  },
  /** While a trusted surface has the keyboard, the gateway gives no cage any input. */
  'input.suspend': { params: z.object({ suspended: z.boolean() }).strict(), result: z.object({ suspended: z.boolean() }) },
  'trust.get': {
    params: empty,
    result: z.object({ phrase: z.string().nullable(), symbol: trustSymbolSchema.nullable() }),
  },
  'trust.set': { params: trustSettingSchema, result: z.object({}) },
  /** Copies the cage's clipboard into the supervisor's brokered clipboard (replacing what it held). */
  'clipboard.copy': { params: levelParams, result: heldClipboardSchema },
  /** Pastes the brokered clipboard into the cage, if the policy (and the user, for `ask`) allows. */
  'clipboard.paste': { params: levelParams, result: clipboardOutcomeSchema },
  'clipboard.state': { params: empty, result: z.object({ held: heldClipboardSchema.nullable() }) },
  'files.list': {
    params: z.object({ level: levelIdSchema, path: z.string().max(4096) }).strict(),
    result: z.object({ entries: z.array(z.object({ path: z.string(), name: z.string(), kind: z.string(), size: z.number() })) }),
  },
  'files.transfer': {
    params: z
      .object({ from: levelIdSchema, to: levelIdSchema, paths: z.array(z.string().min(1).max(4096)).min(1).max(10_000), justification: z.string().max(1000).optional() })
      .strict(),
    result: z.object({ results: z.array(transferResultSchema) }),
  },
  'files.cancel': { params: empty, result: z.object({ cancelled: z.boolean() }) },
  /** What the policy says of files from one level to another, for the transfer dialog to explain it. */
  'files.rule': {
    params: z.object({ from: levelIdSchema, to: levelIdSchema }).strict(),
    result: z.object({
      decision: z.enum(['allow', 'ask', 'deny', 'encrypt', 'convert']),
      direction: z.enum(['up', 'down', 'lateral']),
      justificationNeeded: z.boolean(),
      encryptTo: z.array(z.object({ uid: z.string(), fingerprint: z.string() })),
      /** Why the recipients cannot be used now (a key file changed since the policy loaded). */
      problem: z.string().nullable(),
      /** The problem in both languages ("the diode cannot encrypt: …"), for the shell to show in its own. */
      problemText: bilingualSchema.optional(),
    }),
  },
  'devices.list': { params: empty, result: z.object({ devices: z.array(deviceViewSchema) }) },
  /** Attaches a device to a level (the user's choice in the trusted dialog or tray), if the policy allows. */
  'devices.attach': {
    params: z.object({ id: z.string().max(64), level: levelIdSchema, mode: deviceModeSchema }).strict(),
    result: deviceViewSchema,
  },
  /** Syncs and unmounts; the device stays known, detached, and may be pulled. */
  'devices.eject': { params: z.object({ id: z.string().max(64) }).strict(), result: deviceViewSchema },
  /**
   * Erases a key and marks it for a level (after the user confirms in the trusted dialog); the key
   * is then attached there read-write. Refused while it is attached.
   */
  'devices.mark': { params: z.object({ id: z.string().max(64), level: levelIdSchema }).strict(), result: deviceViewSchema },
  /** Erases a marked key whole, mark included (after the user confirms). */
  'devices.unmark': { params: z.object({ id: z.string().max(64) }).strict(), result: deviceViewSchema },
  /** The user left a waiting device unassigned. */
  'devices.dismiss': { params: z.object({ id: z.string().max(64) }).strict(), result: deviceViewSchema },
  /** A level's sound: muted or not, its volume (the shell's controls; the cage has none over these). */
  'audio.set': {
    params: z.object({ level: levelIdSchema, muted: z.boolean().optional(), volume: z.number().int().min(0).max(100).optional() }).strict(),
    result: audioViewSchema,
  },
  /** Gives the microphone to a level the policy names (null takes it back); another holder must release first. */
  'audio.microphone': { params: z.object({ level: levelIdSchema.nullable() }).strict(), result: audioViewSchema },
  /** Exclusive card: gives it to a level the policy names (taking it back from another), or takes it back (null). */
  'smartcard.assign': { params: z.object({ level: levelIdSchema.nullable() }).strict(), result: smartcardViewSchema },
  /** Each level's applications (trusted launcher); `apps.launch` starts one in its level's cage. */
  'apps.list': { params: empty, result: z.object({ levels: z.array(levelAppsSchema) }) },
  'apps.launch': { params: z.object({ level: levelIdSchema, id: z.string().max(64) }).strict(), result: z.object({ pid: z.number().int() }) },
  /** The user reports an anomaly (a look-alike, a strange request): journaled with the level in front. */
  'report.anomaly': { params: z.object({ text: z.string().max(280) }).strict(), result: z.object({}) },
  /** A level's viewer frame took the keyboard focus (the shell took it back and unloaded it): journaled. */
  'viewer.focusTaken': { params: z.object({ level: levelIdSchema, grabs: z.number().int().min(1).max(1_000_000) }).strict(), result: z.object({}) },
  /** The trainee's answer on the training card (begin, a drill's answer, continue). */
  'training.answer': { params: z.object({ id: z.string().max(64) }).strict(), result: z.object({ accepted: z.boolean() }) },
  /** Locks the workstation now (the overview's button, the lock shortcut). */
  'session.lock': { params: empty, result: lockViewSchema },
  /**
   * One unlock attempt with the user's password, checked by PAM. The password is used for this
   * check only: never stored, logged or journaled.
   */
  'session.unlock': { params: z.object({ password: z.string().max(1024) }).strict(), result: lockViewSchema },
  /** Input reached the shell: the idle clock starts again. Sent at most every few seconds. */
  'session.activity': { params: empty, result: z.object({}) },
  /** The user's own lock delay, for the current session only (until the next lock). */
  'session.lockDelay': { params: z.object({ seconds: z.number().int().min(2).max(24 * 3600) }).strict(), result: lockViewSchema },
  'confirm.answer': { params: z.object({ id: z.string().max(64), accept: z.boolean() }).strict(), result: z.object({}) },
  /** The card's PIN typed in the trusted dialog (its cancel is confirm.answer refused): used for that one login, never kept. */
  'smartcard.pin': { params: z.object({ id: z.string().max(64), pin: z.string().min(1).max(64) }).strict(), result: z.object({}) },
} as const;

export const rpcEvents = {
  onCageStatus: cageStateSchema,
  onFocus: z.object({ level: levelIdSchema }),
  onClipboard: z.object({ held: heldClipboardSchema.nullable() }),
  onConfirmRequest: confirmRequestSchema,
  onTransferProgress: z.object({ file: z.string(), doneBytes: z.number(), totalBytes: z.number() }),
  /** The levels' names and colours, after a policy reload changed them. */
  onLevels: z.object({ levels: z.array(levelViewSchema) }),
  /** The whole device list, after any change. */
  onDevices: z.object({ devices: z.array(deviceViewSchema) }),
  onConfirmSettled: z.object({ id: z.string(), answer: z.enum(['accepted', 'refused', 'timed-out']) }),
  /** Sent once to a browser-host shell on connection: the single-use token its next reload presents. */
  onSession: z.object({ session: z.string(), resume: z.string() }),
  /** The lock changed: locked, unlocked, a failure, a new delay. */
  onLock: lockViewSchema,
  /** null: the trainer stopped the session (the band loses its mark). */
  onTraining: trainingViewSchema.nullable(),
  /** A crossing or decision just journaled (training sessions: the trainer's flow view). */
  onFlow: flowItemSchema,
  /** Sound changed: a level started or stopped playing, a mute, a volume, the microphone. */
  onAudio: audioViewSchema,
  /** The card changed hands (exclusive), or a level's proxy started or stopped. */
  onSmartcard: smartcardViewSchema,
  /** A level's tunnel changed state, or its handshake aged (at most every few seconds). */
  onTunnel: tunnelViewSchema,
  /** Every viewer connected to a cage, with the shell session its ticket was issued to. */
  onViewers: z.object({ viewers: z.array(z.object({ level: levelIdSchema, session: z.string() })) }),
  /** Cloison is stopping: the levels whose applications are still asked to close (stopNotice.ts). */
  onStopping: stoppingViewSchema,
} as const;

export type RpcMethod = keyof typeof rpcMethods;
export type RpcEvent = keyof typeof rpcEvents;
export type RpcParams<M extends RpcMethod> = z.input<(typeof rpcMethods)[M]['params']>;
export type RpcResult<M extends RpcMethod> = z.infer<(typeof rpcMethods)[M]['result']>;
export type RpcEventData<E extends RpcEvent> = z.infer<(typeof rpcEvents)[E]>;

/** Wire frames, one JSON object per message. */
export const MAX_RPC_FRAME_BYTES = 64 * 1024;

export const requestFrameSchema = z
  .object({
    type: z.literal('request'),
    id: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
    method: z.string().max(64),
    params: z.unknown(),
  })
  .strict();
export type RequestFrame = z.infer<typeof requestFrameSchema>;

export const rpcErrorSchema = z.object({ code: z.enum(ERROR_CODES), message: z.string(), text: bilingualSchema.optional() });

export const responseFrameSchema = z.union([
  z.object({ type: z.literal('response'), id: z.number(), ok: z.literal(true), result: z.unknown() }),
  z.object({ type: z.literal('response'), id: z.number(), ok: z.literal(false), error: rpcErrorSchema }),
]);
export type ResponseFrame = z.infer<typeof responseFrameSchema>;

export const eventFrameSchema = z.object({ type: z.literal('event'), name: z.string(), data: z.unknown() });
export type EventFrame = z.infer<typeof eventFrameSchema>;

export const serverFrameSchema = z.union([responseFrameSchema, eventFrameSchema]);

export function isRpcMethod(name: string): name is RpcMethod {
  return Object.hasOwn(rpcMethods, name);
}

export function isRpcEvent(name: string): name is RpcEvent {
  return Object.hasOwn(rpcEvents, name);
}
