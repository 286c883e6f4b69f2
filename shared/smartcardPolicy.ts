/**
 * Smart cards per level (CLIP OS: a Caml Crush PKCS#11 proxy per level, each with its filter):
 * which levels get the workstation's card, which of its objects each level sees, which PKCS#11
 * functions each may call. Absent from the policy: no level has any card.
 */
import { z } from 'zod';

/** PKCS#11 functions a level's filter may refuse (Caml Crush's names, the standard's). */
export const PKCS11_FUNCTIONS = [
  'C_InitToken', 'C_InitPIN', 'C_SetPIN', 'C_Login', 'C_Logout',
  'C_CreateObject', 'C_CopyObject', 'C_DestroyObject', 'C_GetAttributeValue', 'C_SetAttributeValue',
  'C_EncryptInit', 'C_DecryptInit', 'C_DigestKey', 'C_SignInit', 'C_SignRecoverInit', 'C_VerifyInit', 'C_VerifyRecoverInit',
  'C_GenerateKey', 'C_GenerateKeyPair', 'C_WrapKey', 'C_UnwrapKey', 'C_DeriveKey', 'C_SeedRandom', 'C_GenerateRandom',
] as const;
export type Pkcs11Function = (typeof PKCS11_FUNCTIONS)[number];

/**
 * Refused unless the administrator writes a deny list of their own: changing or resetting the PIN
 * (qubes-issues #11131: any qube that may use a card's PIN may change it), reformatting the card,
 * and changing, copying, destroying or planting objects (a level must not rewrite or plant the
 * keys another level signs with).
 */
export const DEFAULT_DENIED: readonly Pkcs11Function[] = [
  'C_SetPIN', 'C_InitToken', 'C_InitPIN', 'C_SetAttributeValue', 'C_CopyObject', 'C_DestroyObject',
  'C_CreateObject', 'C_GenerateKey', 'C_GenerateKeyPair', 'C_UnwrapKey',
];

/** An object label as the filter matches it whole: printable, no regular-expression characters. */
const LABEL = /^[A-Za-z0-9 _:@,=-]{1,64}$/;
const HEX_ID = /^([0-9a-f]{2}){1,64}$/;

const objectSchema = z.union(
  [
    z.string().regex(LABEL, 'an object label is 1 to 64 letters, digits, spaces or _:@,=- (no dots, no wildcards)'),
    z.object({ id: z.string().regex(HEX_ID, 'an object id is its CKA_ID in lower-case hexadecimal, such as "01a2"') }).strict(),
  ],
  { error: 'an object is its label ("high-sign") or its id ({ id: "01" })' },
);

export const smartcardLevelSchema = z
  .object({
    /** The card objects the level sees and uses: all by label, or all by id (CKA_ID, hex). */
    objects: z
      .array(objectSchema)
      .min(1, 'objects lists what the level may see: at least one label or id')
      .max(64)
      .refine((objects) => objects.every((o) => typeof o === 'string') || objects.every((o) => typeof o !== 'string'), 'objects are all labels or all ids, not a mix (the filter would require both to match)'),
    deny: z.array(z.enum(PKCS11_FUNCTIONS)).max(PKCS11_FUNCTIONS.length).default([...DEFAULT_DENIED]),
    /** false: no secret value leaves the card (C_WrapKey refused; CKA_VALUE of sensitive or extractable keys unreadable). */
    allowExport: z.boolean().default(false),
    /** Host uid of the level's proxy: unprivileged, never a cage's, never one systemd may hand out (SYSTEMD_ALLOCATED_UIDS). Default 61100 + the level's position here. */
    uid: z.number().int().min(1000).max(65533).optional(),
  })
  .strict();
export type SmartcardLevelPolicy = z.infer<typeof smartcardLevelSchema>;

/** Variables the dynamic loader or glibc act on, in whatever process gets them first. */
const LOADER_VARIABLES = /^(LD_|GCONV_PATH$|GLIBC_TUNABLES$|MALLOC_|LOCPATH$|NLSPATH$|HOSTALIASES$|RES_OPTIONS$|LOCALDOMAIN$|TMPDIR$)/;

export const smartcardPolicySchema = z
  .object({
    /** The host's PKCS#11 module for the card (OpenSC's for a reader through pcscd). */
    module: z.string().startsWith('/', 'module is the absolute path of a PKCS#11 module (.so)').default('/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so'),
    levels: z.record(z.string(), smartcardLevelSchema),
    /** true: the card is with one level at a time, given and taken back from the trusted overview. */
    exclusive: z.boolean().default(false),
    /**
     * Where the PIN is typed: "cage", in the cage's application (the card protects it); "trusted",
     * in the shell's trusted PIN dialog, the cage's own PIN ignored (trustedPinLogin.ts).
     */
    pin: z.enum(['cage', 'trusted']).default('cage'),
    /** Extra environment for the module (SoftHSM2's SOFTHSM2_CONF for a software token). */
    // Never the loader's or glibc's own variables: they would act on the root-run setpriv first.
    environment: z
      .record(z.string().regex(/^[A-Z][A-Z0-9_]{0,63}$/, 'an environment name is upper-case letters, digits and _'), z.string().max(4096))
      .superRefine((environment, ctx) => {
        for (const name of Object.keys(environment)) {
          if (LOADER_VARIABLES.test(name)) ctx.addIssue({ code: 'custom', path: [name], message: `${name} acts on the dynamic loader or the C library (LD_*, GCONV_PATH, GLIBC_TUNABLES, ...): not allowed` });
        }
      })
      .default({}),
  })
  .strict();
export type SmartcardPolicy = z.infer<typeof smartcardPolicySchema>;

/**
 * 61100 + position: in systemd's "unused" range 60578–61183 (docs/UIDS-GIDS.md), which it never
 * hands out, beside the cages' 61000 + index (16 levels at most: 61000–61015, 61100–61115).
 */
export const DEFAULT_CARD_PROXY_UID_BASE = 61100;

/**
 * Uids systemd hands out at run time, which the name service shows only while they are in use:
 * DynamicUser= services' (nss-systemd lists one only while its service runs; systemd takes a uid
 * getpwuid does not show, and the proxy's is in no name service on purpose) and systemd-homed's
 * homes. A proxy uid there could become a service's or a person's after the policy was read, and
 * own the proxy's workers and the folder the trusted PIN is given in (cardProxyDynamicUids.attack.test.ts).
 */
export const SYSTEMD_ALLOCATED_UIDS: ReadonlyArray<{ min: number; max: number; what: string }> = [
  { min: 61184, max: 65519, what: "systemd's DynamicUser= range (61184–65519), whose uids it gives services as they start" },
  { min: 60001, max: 60513, what: "systemd-homed's range (60001–60513), whose uids it gives homes as they are made" },
];

/** The uid a level's proxy runs as. */
export function cardProxyUid(card: SmartcardPolicy, level: string): number {
  const index = Object.keys(card.levels).indexOf(level);
  return card.levels[level]?.uid ?? DEFAULT_CARD_PROXY_UID_BASE + Math.max(index, 0);
}

/**
 * Problems across sections: unknown levels, a proxy uid that is root's, a cage's or another
 * level's proxy's, or one systemd may hand out later — defaults (61100 + position) included. Each level's proxy runs as a uid of its
 * own: the checks root makes of a proxy (its socket's owner, SO_PEERCRED) name that uid and
 * nothing more, and a low worker taken over that shared the high proxy's uid could ptrace, signal
 * or impersonate the high proxy's workers (attack-3's proxyUidShared.attack.test.ts).
 */
export function smartcardIssues(card: SmartcardPolicy, levelIds: string[], cageUids: number[]): Array<{ path: Array<string | number>; message: string }> {
  const issues: Array<{ path: Array<string | number>; message: string }> = [];
  const proxyOf = new Map<number, string>();
  for (const level of Object.keys(card.levels)) {
    if (!levelIds.includes(level)) issues.push({ path: ['smartcard', 'levels', level], message: `no level "${level}" in this policy` });
    const uid = cardProxyUid(card, level);
    const at = ['smartcard', 'levels', level, ...(card.levels[level]?.uid !== undefined ? ['uid'] : [])];
    const defaulted = card.levels[level]?.uid === undefined ? ` (the default: ${DEFAULT_CARD_PROXY_UID_BASE} + its position)` : '';
    if (uid === 0) issues.push({ path: at, message: "uid 0 is root's: the card's proxy runs as an unprivileged uid of its own" });
    const allocated = SYSTEMD_ALLOCATED_UIDS.find(({ min, max }) => uid >= min && uid <= max);
    if (allocated) issues.push({ path: at, message: `uid ${uid}${defaulted} is in ${allocated.what}: the name service shows such a uid only while it is in use, so it may become a service's or a person's after this check (the card's proxy runs as a uid of its own: take one systemd leaves unused, in 60578–61183 as the defaults 61100 + position are)` });
    if (cageUids.includes(uid)) issues.push({ path: at, message: `uid ${uid}${defaulted} is a cage's: the card's proxy runs as a uid of its own` });
    const other = proxyOf.get(uid);
    if (other !== undefined) issues.push({ path: at, message: `uid ${uid}${defaulted} is already level "${other}"'s card proxy's: each level's proxy runs as a uid of its own (a worker of one could reach the other's sessions and PIN)` });
    else proxyOf.set(uid, level);
  }
  return issues;
}

/** The proxy uids of the levels given the card, each with its level (cardProxyUid's). */
export function cardProxyUids(card: SmartcardPolicy): Array<{ level: string; uid: number; explicit: boolean }> {
  return Object.keys(card.levels).map((level) => ({ level, uid: cardProxyUid(card, level), explicit: card.levels[level]?.uid !== undefined }));
}
