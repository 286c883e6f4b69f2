/**
 * Policy schema: the administrator's description of levels, their cages and the flows between them.
 *
 * Trust rule: level names and colours shown by the shell come only from here (trusted path,
 * property 2). Nothing a cage sends can change a value parsed by this schema.
 */
import { z } from 'zod';
import { SAK_KEYS } from './keysyms';
import { XKB_NAME } from './keyboardLayout';
import { smartcardIssues, smartcardPolicySchema, SYSTEMD_ALLOCATED_UIDS } from './smartcardPolicy';

export const LEVEL_ID = /^[a-z][a-z0-9-]{0,31}$/;
const COLOUR = /^#[0-9a-fA-F]{6}$/;
const GEOMETRY = /^(\d{3,5})x(\d{3,5})$/;
import { MAX_GEOMETRY_SIDE } from './geometryLimits';
export { MAX_GEOMETRY_SIDE };

export const levelIdSchema = z.string().regex(LEVEL_ID, 'a level id is lower-case letters, digits and dashes, starting with a letter');

export const networkModeSchema = z.enum(['none', 'nat', 'host']);
export type NetworkMode = z.infer<typeof networkModeSchema>;
/**
 * A level that reaches its network only through a WireGuard tunnel (CLIP OS: high only through
 * IPsec). `config` is a wg-quick style file — [Interface] PrivateKey, Address, DNS, MTU; [Peer]
 * PublicKey, Endpoint, AllowedIPs… — root's and 0600 (it holds the private key), read when the
 * policy loads. The cage's namespace holds only `lo` and the tunnel: no tunnel, no route at all.
 */
export const wireguardNetworkSchema = z
  .object({ mode: z.literal('wireguard'), config: z.string().startsWith('/', 'config is the absolute path of a WireGuard configuration file') })
  .strict();
export type WireguardNetwork = z.infer<typeof wireguardNetworkSchema>;
export const networkSchema = z.union([networkModeSchema, wireguardNetworkSchema], { error: 'network is "none", "nat", "host", or { mode: wireguard, config: FILE }' });
export type CageNetwork = z.infer<typeof networkSchema>;

export function isWireguard(network: CageNetwork): network is WireguardNetwork {
  return typeof network === 'object' && network.mode === 'wireguard';
}

const geometrySchema = z
  .string()
  .regex(GEOMETRY, 'geometry is WIDTHxHEIGHT, e.g. 1280x800')
  .refine((g) => {
    const [, w, h] = GEOMETRY.exec(g) ?? [];
    if (w === undefined) return true; // not WIDTHxHEIGHT at all: said once, above
    return Number(w) >= 320 && Number(h) >= 200 && Number(w) <= MAX_GEOMETRY_SIDE && Number(h) <= MAX_GEOMETRY_SIDE;
  }, `geometry sides must be between 320x200 and ${MAX_GEOMETRY_SIDE}x${MAX_GEOMETRY_SIDE}`);

/**
 * A cage's screen: `auto` follows its frame as the shell measures it, in device pixels, set by the
 * supervisor and bounded by `maxGeometry` (supervisor/screen/cageScreens.ts); WIDTHxHEIGHT fixes it.
 */
const geometrySettingSchema = z.string().superRefine((g, ctx) => {
  if (g === 'auto') return;
  const checked = geometrySchema.safeParse(g);
  if (!checked.success) ctx.addIssue({ code: 'custom', message: GEOMETRY.test(g) ? checked.error.issues[0]!.message : 'geometry is auto or WIDTHxHEIGHT, e.g. 1280x800' });
});
/** The largest screen an `auto` cage gets: 4K, a 1920x1080 frame at pixel ratio 2. */
export const DEFAULT_MAX_GEOMETRY = '3840x2160';
/** The screen an `auto` cage starts with, until its frame's size is known. */
const AUTO_START = { width: 1280, height: 800 };

/** A command line run inside the cage: argv, never a shell string. */
const argvSchema = z.union([
  z.string().min(1).transform((s) => [s]),
  z.array(z.string().min(1)).min(1),
]);
const APP_ID = /^[a-z0-9][a-z0-9._-]{0,63}$/;
/** A media type as the shared-mime-info database writes them (x-scheme-handler/https included). */
export const MIME_TYPE = /^[a-z0-9][a-z0-9.+_-]*\/[A-Za-z0-9][A-Za-z0-9.+_-]*$/;
const appIdSchema = z.string().regex(APP_ID, 'an app id is lower-case letters, digits, dots, dashes and underscores');
/**
 * An application of a level, as its trusted launcher lists it: `id` names it (and, unless `desktop`
 * says otherwise, the host's /usr/share/applications/<id>.desktop that gives its name and icon),
 * `exec` is its command line, `autostart` starts it with the cage. The old form — a bare command
 * line — still means an app started with the cage, named after its program.
 */
const appObjectSchema = z
  .object({
    id: appIdSchema,
    exec: argvSchema,
    autostart: z.boolean().default(false),
    /** The host's .desktop file (without .desktop) that names it, when not `id`. */
    desktop: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'desktop is the name of a .desktop file in /usr/share/applications, without .desktop').optional(),
    /**
     * Document types this app opens by default in its level, before what its .desktop file claims
     * (supervisor/cages/cageMimeApps.ts): where two apps claim a type, the policy's order decides
     * unless one says it here.
     */
    opens: z.array(z.string().regex(MIME_TYPE, 'opens lists media types such as text/plain or image/png')).max(256).optional(),
    /**
     * Its command line when it opens a document (the file manager, xdg-open: its level's .desktop
     * copy), the file after it; `exec` when not given. The launcher's start stays `exec`.
     */
    documentExec: argvSchema.optional(),
  })
  .strict();
const appSchema = z.union([appObjectSchema, argvSchema.transform((exec) => ({ id: appIdOf(exec[0]!), exec, autostart: true, derivedId: true }))], { error: 'an app is { id, exec, autostart } or a command line such as [xterm, -geometry, 80x24]' });
export type AppPolicy = { id: string; exec: string[]; autostart: boolean; desktop?: string; opens?: string[]; documentExec?: string[] };

/** An old-form app's id: its program's file name in the id alphabet. */
function appIdOf(program: string): string {
  const id = (program.split('/').pop() ?? '').toLowerCase().replace(/[^a-z0-9._-]/g, '-').replace(/^[^a-z0-9]+/, '').slice(0, 64);
  return id || 'app';
}

/** Explicit ids are unique in a level; old-form apps that share a program get -2, -3... */
const appsSchema = z.array(appSchema).transform((apps, ctx): AppPolicy[] => {
  const taken = new Set<string>();
  return apps.map((app, i) => {
    const { derivedId, ...entry } = { derivedId: false, ...app };
    if (taken.has(entry.id)) {
      if (!derivedId) ctx.addIssue({ code: 'custom', path: [i, 'id'], message: `app id "${entry.id}" is used twice in this level` });
      for (let n = 2; taken.has(entry.id); n++) entry.id = `${app.id}-${n}`;
    }
    taken.add(entry.id);
    return entry;
  });
});

/** A size in bytes, or with a unit: 512MiB, 4GiB (binary units; K/M/G/T alone mean the same). */
const SIZE = /^(\d+)\s*([KMGT])(i?B)?$/;
const UNIT = { K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 } as const;
const sizeSchema = (min: number, what: string) =>
  z
    .union([z.number().int(), z.string().regex(SIZE, `${what} is a number of bytes or a size such as 512MiB or 4GiB`)])
    .transform((v) => (typeof v === 'number' ? v : Number(SIZE.exec(v)![1]) * UNIT[SIZE.exec(v)![2] as keyof typeof UNIT]))
    .refine((n) => n >= min, `${what} must be at least ${min / 2 ** 20} MiB`);

/**
 * What one cage may use (docs/design.md, Cages: limits). A cage that reaches a limit is the only one
 * that suffers. Defaults suit a two-level workstation of 8 GiB and more.
 */
export const DEFAULT_CAGE_LIMITS = { memoryBytes: 4 * 2 ** 30, tasks: 1024, cpuWeight: 100, homeBytes: 8 * 2 ** 30, tmpfsBytes: 512 * 2 ** 20 } as const;
export const cageLimitsSchema = z
  .object({
    memoryBytes: sizeSchema(64 * 2 ** 20, 'memoryBytes').default(DEFAULT_CAGE_LIMITS.memoryBytes),
    tasks: z.number().int().min(32).max(1_000_000).default(DEFAULT_CAGE_LIMITS.tasks),
    cpuWeight: z.number().int().min(1).max(10_000).default(DEFAULT_CAGE_LIMITS.cpuWeight),
    homeBytes: sizeSchema(16 * 2 ** 20, 'homeBytes').default(DEFAULT_CAGE_LIMITS.homeBytes),
    tmpfsBytes: sizeSchema(2 ** 20, 'tmpfsBytes').default(DEFAULT_CAGE_LIMITS.tmpfsBytes),
  })
  .strict();
export type CageLimitsPolicy = z.infer<typeof cageLimitsSchema>;

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
const resolverSchema = z
  .string()
  .regex(IPV4, 'a resolver is an IPv4 address')
  .refine((a) => !a.startsWith('127.') && a !== '0.0.0.0', "a cage's resolver cannot be on the host's loopback: the cage would reach the host through it");

/** The longest a stop may wait for a level's applications (appQuitSeconds): the packaged units' stop timeout is made to hold it (deploy/systemdUnits.test.ts). */
export const APP_QUIT_SECONDS_MAX = 60;

export const bwrapCageSchema = z
  .object({
    driver: z.literal('bwrap'),
    network: networkSchema.default('none'),
    /** Resolvers for a `nat` cage; default: the host's own, those on its loopback left out. */
    dns: z.array(resolverSchema).min(1).max(3).optional(),
    limits: cageLimitsSchema.prefault({}),
    geometry: geometrySettingSchema.default('auto'),
    /** The largest screen `geometry: auto` gives the cage; DEFAULT_MAX_GEOMETRY when absent. */
    maxGeometry: geometrySchema.optional(),
    apps: appsSchema.default([{ id: 'xterm', exec: ['xterm'], autostart: true }, { id: 'xedit', exec: ['xedit'], autostart: true }]),
    /** Host uid the cage runs as; default 61000 + the level's position in the policy. Never one systemd may hand out (SYSTEMD_ALLOCATED_UIDS: cageDynamicUids.attack.test.ts). */
    uid: z.number().int().min(1000).max(65533).optional(),
    /** How long a stop waits for the cage's applications to quit as the user would (0: no asking); 10 s when absent; 60 s at most (the unit's stop timeout, npm start's wait). */
    appQuitSeconds: z.number().int().min(0).max(APP_QUIT_SECONDS_MAX).optional(),
  })
  .strict();

const endpointSchema = z.union([
  z.object({ socket: z.string().startsWith('/', 'socket must be an absolute path') }).strict(),
  z.object({ host: z.string().min(1), port: z.number().int().min(1).max(65535) }).strict(),
]);

export const vncCageSchema = z
  .object({
    driver: z.literal('vnc'),
    endpoint: endpointSchema,
  })
  .strict();

export const cageSchema = z.discriminatedUnion('driver', [bwrapCageSchema, vncCageSchema]);
export type CagePolicy = z.infer<typeof cageSchema>;
export type BwrapCagePolicy = z.infer<typeof bwrapCageSchema>;
export type VncCagePolicy = z.infer<typeof vncCageSchema>;
/**
 * What a running cage was started from: its entry less what applies while it runs (the launcher's
 * menu and its autostart list, read at each launch or start; the largest `auto` screen, read at each
 * resize). A change here restarts the cage; a change elsewhere never costs the user a window.
 */
export function cageStartDefinition(cage: CagePolicy): Omit<CagePolicy, 'apps' | 'maxGeometry' | 'appQuitSeconds'> {
  if (cage.driver !== 'bwrap') return cage;
  const { apps: _apps, maxGeometry: _max, appQuitSeconds: _quit, ...definition } = cage;
  return definition;
}

export const levelSchema = z
  .object({
    id: levelIdSchema,
    rank: z.number().int().min(0).max(1000),
    label: z.object({ fr: z.string().min(1).max(40), en: z.string().min(1).max(40) }).strict(),
    colour: z.string().regex(COLOUR, 'colour is #RRGGBB'),
    /** Text colour on the level's band; chosen by the administrator for contrast. */
    textColour: z.string().regex(COLOUR, 'textColour is #RRGGBB').default('#ffffff'),
    cage: cageSchema,
  })
  .strict();
export type LevelPolicy = z.infer<typeof levelSchema>;

export const decisionSchema = z.enum(['allow', 'ask', 'deny']);
export type Decision = z.infer<typeof decisionSchema>;
/**
 * Files may also cross `encrypt`ed (CLIP OS's "noircir", the only way down it has): the user is
 * asked, and the files land encrypted to the rule's recipients, signed with the source level's key.
 */
export const fileDecisionSchema = z.enum(['allow', 'ask', 'deny', 'encrypt', 'convert']);
export type FileDecision = z.infer<typeof fileDecisionSchema>;

/** Defaults follow CLIP OS: up = ask, down = deny. Used by the brokers. */
export const flowsSchema = z
  .object({
    up: decisionSchema.default('ask'),
    down: decisionSchema.default('deny'),
    lateral: decisionSchema.default('deny'),
  })
  .strict();

/**
 * The secure-attention key is a single key, caught in every modifier state, so no combination of
 * modifiers can smuggle it to a cage. Default: Pause/Break, the terminals' attention key.
 */
/**
 * Clipboard rules per direction (up, down, lateral), each field overridable per pair of levels.
 * Defaults: up = ask, down = deny, lateral = deny; 64 KiB of text; single use; 2 minutes.
 */
export const CLIPBOARD_KINDS = ['text'] as const;
const clipboardRuleFields = {
  decision: decisionSchema,
  maxBytes: z.number().int().min(1).max(16 * 1024 * 1024),
  kinds: z.array(z.enum(CLIPBOARD_KINDS)).min(1),
  singleUse: z.boolean(),
  expirySeconds: z.number().int().min(5).max(24 * 3600),
};
const BASE_CLIPBOARD_RULE = { maxBytes: 64 * 1024, kinds: ['text' as const], singleUse: true, expirySeconds: 120 };
// Decisions left unwritten come from `flows` (see withFlowDecisions).
const directionRule = () =>
  z
    .object({
      decision: clipboardRuleFields.decision.optional(),
      maxBytes: clipboardRuleFields.maxBytes.default(BASE_CLIPBOARD_RULE.maxBytes),
      kinds: clipboardRuleFields.kinds.default(['text']),
      singleUse: clipboardRuleFields.singleUse.default(true),
      expirySeconds: clipboardRuleFields.expirySeconds.default(BASE_CLIPBOARD_RULE.expirySeconds),
    })
    .strict();
export const clipboardPolicySchema = z
  .object({
    up: directionRule().default(BASE_CLIPBOARD_RULE),
    down: directionRule().default(BASE_CLIPBOARD_RULE),
    lateral: directionRule().default(BASE_CLIPBOARD_RULE),
    pairs: z
      .array(
        z
          .object({
            from: levelIdSchema,
            to: levelIdSchema,
            decision: clipboardRuleFields.decision.optional(),
            maxBytes: clipboardRuleFields.maxBytes.optional(),
            kinds: clipboardRuleFields.kinds.optional(),
            singleUse: clipboardRuleFields.singleUse.optional(),
            expirySeconds: clipboardRuleFields.expirySeconds.optional(),
          })
          .strict(),
      )
      .default([]),
  })
  .strict();
export type ClipboardRule = Omit<z.infer<ReturnType<typeof directionRule>>, 'decision'> & { decision: Decision };

/**
 * File transfer rules per direction, each field overridable per pair. Defaults: up = ask,
 * down and lateral = deny; 100 MiB a file, 1 GiB and 100 files a transfer; documents, images and
 * archives (not executables, not unknown content).
 */
export const TRANSFERABLE_TYPES = ['text', 'pdf', 'png', 'jpeg', 'gif', 'zip', 'gzip', 'elf', 'empty', 'unknown'] as const;
const fileRuleShape = {
  decision: fileDecisionSchema,
  maxFileBytes: z.number().int().min(1),
  maxTotalBytes: z.number().int().min(1),
  maxCount: z.number().int().min(1).max(10_000),
  types: z.array(z.enum(TRANSFERABLE_TYPES)).min(1),
  /** argv of a scanner run on each staged copy (its path appended); non-zero exit refuses the file. */
  scanner: z.array(z.string().min(1)).min(1).nullable(),
  /** Folders the scanner's sandbox sees, read-only (a daemon's socket folder, its database). */
  scannerBinds: z.array(z.string().startsWith('/', 'a scanner bind is an absolute path')).max(16),
  /** The scanner keeps the host's network (a scanning daemon on TCP); off, it has none of its own. */
  scannerNetwork: z.boolean(),
  /** `encrypt`: OpenPGP public key files (root's), one recipient each; checked when the policy loads. */
  recipients: z.array(z.string().startsWith('/', 'a recipient is the absolute path of a public key file')).max(32),
  /** `convert`: documents cross as a PDF rebuilt from their pages' pixels (supervisor/files/convert). */
  convert: z
    .object({
      dpi: z.number().int().min(36).max(600).default(150),
      maxPages: z.number().int().min(1).max(10_000).default(500),
      maxPagePixels: z.number().int().min(100).max(20_000).default(10_000),
      secondsPerPage: z.number().int().min(1).max(600).default(30),
      secondsToOpen: z.number().int().min(1).max(600).default(60),
      memory: z.number().int().min(256 * 1024 * 1024).default(2 * 1024 * 1024 * 1024),
      tasks: z.number().int().min(8).max(4096).default(128),
      ocr: z.boolean().default(false),
      /** The languages the OCR reads (tesseract's packs shipped with Cloison). */
      ocrLanguages: z.array(z.enum(['fra', 'eng'])).min(1).max(2).default(['fra', 'eng']),
    })
    .strict(),
};
const BASE_CONVERT = { dpi: 150, maxPages: 500, maxPagePixels: 10_000, secondsPerPage: 30, secondsToOpen: 60, memory: 2 * 1024 * 1024 * 1024, tasks: 128, ocr: false, ocrLanguages: ['fra', 'eng'] as Array<'fra' | 'eng'> };
const BASE_FILE_RULE = {
  maxFileBytes: 100 * 1024 * 1024,
  maxTotalBytes: 1024 * 1024 * 1024,
  maxCount: 100,
  types: ['text', 'pdf', 'png', 'jpeg', 'gif', 'zip', 'gzip', 'empty'] as Array<(typeof TRANSFERABLE_TYPES)[number]>,
  scanner: null as string[] | null,
  scannerBinds: [] as string[],
  scannerNetwork: false,
  recipients: [] as string[],
  convert: BASE_CONVERT,
};
const fileDirectionRule = () =>
  z
    .object({
      decision: fileRuleShape.decision.optional(),
      maxFileBytes: fileRuleShape.maxFileBytes.default(BASE_FILE_RULE.maxFileBytes),
      maxTotalBytes: fileRuleShape.maxTotalBytes.default(BASE_FILE_RULE.maxTotalBytes),
      maxCount: fileRuleShape.maxCount.default(BASE_FILE_RULE.maxCount),
      types: fileRuleShape.types.default(BASE_FILE_RULE.types),
      scanner: fileRuleShape.scanner.default(null),
      scannerBinds: fileRuleShape.scannerBinds.default([]),
      scannerNetwork: fileRuleShape.scannerNetwork.default(false),
      recipients: fileRuleShape.recipients.default([]),
      convert: fileRuleShape.convert.default(BASE_CONVERT),
    })
    .strict()
    .default(BASE_FILE_RULE);
export const filesPolicySchema = z
  .object({
    up: fileDirectionRule(),
    down: fileDirectionRule(),
    lateral: fileDirectionRule(),
    pairs: z
      .array(
        z
          .object({
            from: levelIdSchema,
            to: levelIdSchema,
            decision: fileRuleShape.decision.optional(),
            maxFileBytes: fileRuleShape.maxFileBytes.optional(),
            maxTotalBytes: fileRuleShape.maxTotalBytes.optional(),
            maxCount: fileRuleShape.maxCount.optional(),
            types: fileRuleShape.types.optional(),
            scanner: fileRuleShape.scanner.optional(),
            scannerBinds: fileRuleShape.scannerBinds.optional(),
            scannerNetwork: fileRuleShape.scannerNetwork.optional(),
            recipients: fileRuleShape.recipients.optional(),
            convert: fileRuleShape.convert.optional(),
          })
          .strict(),
      )
      .default([]),
  })
  .strict();
export type FileRule = Omit<z.infer<typeof filesPolicySchema>['up'], 'decision'> & { decision: FileDecision };

type Flows = z.infer<typeof flowsSchema>;

/**
 * A broker section's directions take their decision from `flows` unless the section writes its
 * own: an administrator who sets `flows.up: deny` denies every upward crossing.
 */
type DecisionOf<T> = T extends { decision?: infer D } ? Exclude<D, undefined> : never;
type Decided<T> = Omit<T, 'decision'> & { decision: DecisionOf<T> | Decision };
type Section = { up: { decision?: FileDecision }; down: { decision?: FileDecision }; lateral: { decision?: FileDecision } };

type WithDecisions<S extends Section> = Omit<S, 'up' | 'down' | 'lateral'> & { up: Decided<S['up']>; down: Decided<S['down']>; lateral: Decided<S['lateral']> };

function withFlowDecisions<S extends Section>(section: S, flows: Flows): WithDecisions<S> {
  const decide = (rule: { decision?: FileDecision }, flow: Decision) => ({ ...rule, decision: rule.decision ?? flow });
  return { ...section, up: decide(section.up, flows.up), down: decide(section.down, flows.down), lateral: decide(section.lateral, flows.lateral) } as unknown as WithDecisions<S>;
}


/**
 * USB storage (CLIP OS 4 / Qubes 4.3 / Trusted Extensions): rules bind known devices to one level
 * and mode; unknown devices follow `unknown` (ask the user by default), who may choose only among
 * `choices` (default: low read-write, high read-only). A bound device is never attached elsewhere.
 */
export const DEVICE_MODES = ['read-only', 'read-write'] as const;
export const deviceModeSchema = z.enum(DEVICE_MODES);
export type DeviceMode = z.infer<typeof deviceModeSchema>;
const deviceTargetSchema = z.object({ level: levelIdSchema, mode: deviceModeSchema }).strict();
export type DeviceTarget = z.infer<typeof deviceTargetSchema>;
const HEX4 = /^[0-9a-fA-F]{4}$/;
export const deviceMatchSchema = z
  .object({
    vendorId: z.string().regex(HEX4, 'vendorId is the USB vendor id, 4 hex digits').transform((s) => s.toLowerCase()).optional(),
    productId: z.string().regex(HEX4, 'productId is the USB product id, 4 hex digits').transform((s) => s.toLowerCase()).optional(),
    serial: z.string().min(1).max(256).optional(),
    uuid: z.string().min(1).max(64).optional(),
  })
  .strict()
  .refine((m) => Object.values(m).some((v) => v !== undefined), 'a device match needs at least one of vendorId, productId, serial, uuid');
export type DeviceMatch = z.infer<typeof deviceMatchSchema>;
export const MOUNTABLE_FILESYSTEMS = ['vfat', 'exfat', 'ext2', 'ext3', 'ext4', 'iso9660', 'udf', 'ntfs3'] as const;
export const usbPolicySchema = z
  .object({
    /**
     * Whether rules may bind a device by what it says it is (vendor, product, serial, filesystem
     * UUID). All of that is the device's own word, so a key can clone an authorised identity: by
     * default (false) a rule only pre-selects the dialog's choice, and only a key marked by this
     * workstation goes to a level by itself. true restores binding by identity (spoofable).
     */
    trustDeviceIdentity: z.boolean().default(false),
    /** What happens to a device no rule matches: ask the user, a fixed level, or ignore it. */
    unknown: z.union([z.enum(['ask', 'ignore']), deviceTargetSchema]).default('ask'),
    /** Levels and modes the user may choose for an unknown device; empty = lowest level read-write, every other read-only. */
    choices: z.array(deviceTargetSchema).default([]),
    rules: z.array(z.object({ name: z.string().min(1).max(80).optional(), match: deviceMatchSchema, level: levelIdSchema, mode: deviceModeSchema }).strict()).default([]),
    filesystems: z.array(z.enum(MOUNTABLE_FILESYSTEMS)).min(1).default([...MOUNTABLE_FILESYSTEMS]),
    /**
     * Loop devices whose backing file lies under this directory count as plugged keys: for
     * training rooms and tests. Unset (the default), loop devices are never offered.
     */
    loopDevices: z.object({ backingDir: z.string().startsWith('/', 'backingDir must be an absolute path') }).strict().optional(),
  })
  .strict();
export type UsbPolicy = z.infer<typeof usbPolicySchema>;

export const shortcutsSchema = z
  .object({
    switchLevel: z.string().min(1).default('Ctrl+Alt+PageDown'),
    /** Copy the front cage's clipboard into the shell's brokered clipboard. */
    copyOut: z.string().min(1).default('Ctrl+Alt+C'),
    /** Paste the brokered clipboard into the front cage (through the policy). */
    pasteIn: z.string().min(1).default('Ctrl+Alt+V'),
    /** Locks the workstation at once (the trusted lock screen). */
    lock: z.string().min(1).default('Super+L'),
    secureAttention: z
      .string()
      .refine((k) => Object.hasOwn(SAK_KEYS, k.toLowerCase()), `secureAttention must be one key among ${Object.keys(SAK_KEYS).join(', ')} (no modifiers)`)
      .default('Pause'),
  })
  .strict();

/**
 * The lock (CLIP OS 4: mandatory, 3 minutes, the user may change the delay for the current session
 * only, every failure logged and followed by a delay). Locking cannot be turned off: only its delay
 * is the administrator's to set.
 */
export const PAM_SERVICE = /^[a-z0-9][a-z0-9._-]{0,63}$/;
/** The services that may check the unlock password: the package's, a site's own variant of it, or the console login's. */
export const UNLOCK_PAM_SERVICE = /^(cloison-unlock(-[a-z0-9][a-z0-9._-]{0,40})?|login)$/;
export const sessionPolicySchema = z
  .object({
    /** Seconds without input to the shell before the workstation locks. */
    lockAfterSeconds: z.number().int().min(2).max(24 * 3600).default(180),
    /** The longest delay the user may choose for the current session (presentations). */
    userMayExtendUpTo: z.number().int().min(2).max(24 * 3600).default(1800),
    /** After this many failed unlocks in a row the lock screen says so and the journal marks it. */
    maxFailures: z.number().int().min(1).max(1000).default(5),
    /** The PAM service that checks the unlock password (/etc/pam.d/<name>). */
    pamService: z.string().regex(PAM_SERVICE, 'pamService is a PAM service name (lower-case letters, digits, dots, dashes)').regex(UNLOCK_PAM_SERVICE, 'pamService is cloison-unlock, cloison-unlock-<name> (a site\'s own stack for unlocking) or login: services written for other purposes (su, runuser, sudo…) may trust root').default('cloison-unlock'),
    /** The workstation's user, whose password unlocks (when the supervisor has no --shell-user); read at start. */
    user: z.string().regex(/^[a-z_][a-z0-9_.-]{0,31}$/, 'user is a login name').optional(),
  })
  .strict()
  .refine((s) => s.userMayExtendUpTo >= s.lockAfterSeconds, { message: 'userMayExtendUpTo cannot be below lockAfterSeconds', path: ['userMayExtendUpTo'] });
export type SessionPolicy = z.infer<typeof sessionPolicySchema>;

/**
 * Sound per level (CLIP OS confines the audio server to each level; capture off unless allowed):
 * each cage has a sound server of its own with no hardware; the supervisor plays its output on the
 * host's, and gives the microphone to at most one of the levels named here at a time.
 */
export const audioPolicySchema = z
  .object({
    enabled: z.boolean().default(true),
    /** Levels the user may give the microphone to (one at a time, off until then); none by default. */
    microphone: z.array(levelIdSchema).default([]),
  })
  .strict();
export type AudioPolicy = z.infer<typeof audioPolicySchema>;

/** The cages' keyboard layout (XKB names, as setxkbmap takes them); the host's own when absent. */
export const keyboardPolicySchema = z
  .object({
    layout: z.string().regex(XKB_NAME, 'layout is an XKB layout name such as fr, us, gb'),
    variant: z.string().regex(XKB_NAME, 'variant is an XKB variant name such as oss, bepo').optional(),
  })
  .strict();

export const policySchema = z
  .object({
    version: z.literal(1),
    levels: z.array(levelSchema).min(1).max(16),
    flows: flowsSchema.default({ up: 'ask', down: 'deny', lateral: 'deny' }),
    shortcuts: shortcutsSchema.prefault({}),
    session: sessionPolicySchema.prefault({}),
    files: filesPolicySchema.default({ up: BASE_FILE_RULE, down: BASE_FILE_RULE, lateral: BASE_FILE_RULE, pairs: [] }),
    clipboard: clipboardPolicySchema.default({ up: BASE_CLIPBOARD_RULE, down: BASE_CLIPBOARD_RULE, lateral: BASE_CLIPBOARD_RULE, pairs: [] }),
    usb: usbPolicySchema.prefault({}),
    audio: audioPolicySchema.prefault({}),
    /** Training sessions (drills against the cages) run only where the administrator allows them. */
    training: z.enum(['allowed', 'forbidden']).default('forbidden'),
    keyboard: keyboardPolicySchema.optional(),
    /** The shell's language; absent: the host's locale as the supervisor reads it (never the browser's). */
    locale: z.enum(['fr', 'en']).optional(),
    /** Smart cards per level through a filtering PKCS#11 proxy; absent: no level has a card. */
    smartcard: smartcardPolicySchema.optional(),
  })
  .strict()
  .superRefine((policy, ctx) => {
    const seenIds = new Map<string, number>();
    const seenColours = new Map<string, number>();
    policy.levels.forEach((level, i) => {
      const prior = seenIds.get(level.id);
      if (prior !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['levels', i, 'id'], message: `duplicate level id "${level.id}" (also levels[${prior}])` });
      }
      seenIds.set(level.id, i);
      const colour = level.colour.toLowerCase();
      const sameColour = seenColours.get(colour);
      if (sameColour !== undefined) {
        ctx.addIssue({ code: 'custom', path: ['levels', i, 'colour'], message: `colour ${level.colour} is already used by levels[${sameColour}]: each level needs its own colour` });
      }
      seenColours.set(colour, i);
    });
    const ids = new Set(policy.levels.map((l) => l.id));
    for (const section of ['clipboard', 'files'] as const) {
      policy[section].pairs.forEach((pair, i) => {
        for (const key of ['from', 'to'] as const) {
          if (!ids.has(pair[key])) ctx.addIssue({ code: 'custom', path: [section, 'pairs', i, key], message: `no level "${pair[key]}" in this policy` });
        }
      });
    }
    const checkLevel = (id: string, path: Array<string | number>) => {
      if (!ids.has(id)) ctx.addIssue({ code: 'custom', path, message: `no level "${id}" in this policy` });
    };
    // An encrypting rule needs someone to encrypt to.
    for (const dir of ['up', 'down', 'lateral'] as const) {
      const rule = policy.files[dir];
      if (rule.decision === 'encrypt' && rule.recipients.length === 0) ctx.addIssue({ code: 'custom', path: ['files', dir, 'decision'], message: 'decision "encrypt" needs recipients: the public key files files go down encrypted to' });
    }
    policy.files.pairs.forEach((pair, i) => {
      const from = policy.levels.find((l) => l.id === pair.from);
      const to = policy.levels.find((l) => l.id === pair.to);
      if (!from || !to) return;
      const base = policy.files[directionBetween(from, to)];
      if ((pair.decision ?? base.decision) === 'encrypt' && (pair.recipients ?? base.recipients).length === 0) {
        ctx.addIssue({ code: 'custom', path: ['files', 'pairs', i, 'decision'], message: 'decision "encrypt" needs recipients: the public key files files go down encrypted to' });
      }
    });
    if (typeof policy.usb.unknown === 'object') checkLevel(policy.usb.unknown.level, ['usb', 'unknown', 'level']);
    policy.audio.microphone.forEach((l, i) => checkLevel(l, ['audio', 'microphone', i]));
    policy.usb.choices.forEach((c, i) => checkLevel(c.level, ['usb', 'choices', i, 'level']));
    policy.usb.rules.forEach((r, i) => checkLevel(r.level, ['usb', 'rules', i, 'level']));
    const uids = new Map<number, number>();
    policy.levels.forEach((level, i) => {
      if (level.cage.driver !== 'bwrap') return;
      const uid = cageUid(level.cage, i);
      const other = uids.get(uid);
      if (other !== undefined) ctx.addIssue({ code: 'custom', path: ['levels', i, 'cage', 'uid'], message: `uid ${uid} is already used by levels[${other}]: each cage needs its own uid` });
      const allocated = SYSTEMD_ALLOCATED_UIDS.find(({ min, max }) => uid >= min && uid <= max);
      // Only an explicit uid can be there: the defaults (61000 + index) lie in systemd's unused range.
      if (allocated) ctx.addIssue({ code: 'custom', path: ['levels', i, 'cage', 'uid'], message: `uid ${uid} is in ${allocated.what}: the name service shows such a uid only while it is in use, so it may become a service's or a person's after this check and own the cage's processes and home (a cage runs as a uid of its own: take one systemd leaves unused, in 60578–61183 as the defaults 61000 + position are, or one below 60000 no account has)` });
      uids.set(uid, i);
    });
    if (policy.smartcard) for (const issue of smartcardIssues(policy.smartcard, [...ids], [...uids.keys()])) ctx.addIssue({ code: 'custom', ...issue });
  })
  .transform((policy) => ({
    ...policy,
    clipboard: withFlowDecisions(policy.clipboard, policy.flows),
    files: withFlowDecisions(policy.files, policy.flows),
    usb: { ...policy.usb, choices: policy.usb.choices.length > 0 ? policy.usb.choices : defaultDeviceChoices(policy.levels) },
  }));
export type Policy = z.infer<typeof policySchema>;

/** The size a cage's screen starts at: its fixed geometry, or for `auto` a start within maxGeometry. */
export function geometryOf(cage: BwrapCagePolicy): { width: number; height: number } {
  if (cage.geometry === 'auto') {
    const max = maxGeometryOf(cage);
    return { width: Math.min(AUTO_START.width, max.width), height: Math.min(AUTO_START.height, max.height) };
  }
  const [, w, h] = GEOMETRY.exec(cage.geometry) ?? [];
  return { width: Number(w), height: Number(h) };
}

export function maxGeometryOf(cage: BwrapCagePolicy): { width: number; height: number } {
  const [, w, h] = GEOMETRY.exec(cage.maxGeometry ?? DEFAULT_MAX_GEOMETRY) ?? [];
  return { width: Number(w), height: Number(h) };
}

export const DEFAULT_CAGE_UID_BASE = 61000;

export function cageUid(cage: BwrapCagePolicy, index: number): number {
  return cage.uid ?? DEFAULT_CAGE_UID_BASE + index;
}

export type FlowDirection = 'up' | 'down' | 'lateral';

/**
 * The rule for a flow from one level to another in a broker's section of the policy (clipboard,
 * files): the direction's rule, then the pair's overrides field by field.
 */
function ruleFor<R extends object>(section: { up: R; down: R; lateral: R; pairs: Array<{ from: string; to: string } & Partial<R>> }, from: LevelPolicy, to: LevelPolicy): R {
  const base = section[directionBetween(from, to)];
  const pair = section.pairs.find((p) => p.from === from.id && p.to === to.id);
  if (!pair) return base;
  const { from: _f, to: _t, ...overrides } = pair;
  return { ...base, ...Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined)) };
}

export function fileRuleFor(policy: Policy, from: LevelPolicy, to: LevelPolicy): FileRule {
  return ruleFor<FileRule>(policy.files, from, to);
}

export function clipboardRuleFor(policy: Policy, from: LevelPolicy, to: LevelPolicy): ClipboardRule {
  return ruleFor<ClipboardRule>(policy.clipboard, from, to);
}

export function directionBetween(from: LevelPolicy, to: LevelPolicy): FlowDirection {
  if (to.rank > from.rank) return 'up';
  if (to.rank < from.rank) return 'down';
  return 'lateral';
}

/** CLIP OS 4's default: the lowest level read-write, every higher level read-only. */
function defaultDeviceChoices(levels: LevelPolicy[]): DeviceTarget[] {
  const lowest = Math.min(...levels.map((l) => l.rank));
  return [...levels].sort((a, b) => a.rank - b.rank).map((l) => ({ level: l.id, mode: l.rank === lowest ? 'read-write' : 'read-only' }));
}
