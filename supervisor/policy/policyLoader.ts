/**
 * Loads a YAML policy and validates it, reporting every problem as "file:line:column: path: what is
 * wrong". A policy with any error is refused whole: nothing starts half-way.
 */
import { readFileSync } from 'node:fs';
import { isNode, LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { isWireguard, policySchema, type Policy } from '../../shared/policy';
import { keysAcceptedAt, suggestKey } from './keySuggestion';
import { cardProxyUids } from '../../shared/smartcardPolicy';
import { bwrapCageUids, checkCageUidAccounts } from './cageUidAccounts';
import { checkCardProxyAccounts } from './cardProxyAccounts';
import { lookUpIds, lookUpIdsAsync, type IdHolders } from './ownIds';
import { DEFAULT_POLICY_NAME, DEFAULT_POLICY_YAML } from './defaultPolicy';
import { unreadableBy, type Reader } from './readableBy';
import { readRecipientKey, readRecipientKeyAsync } from './recipientKeys';
import { readWireguardConfig } from './wireguardConfig';
import { unlockStackProblem } from './pamStack';

export interface PolicyProblem {
  file: string;
  line: number;
  column: number;
  path: string;
  message: string;
}

export class PolicyError extends Error {
  constructor(readonly problems: PolicyProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'PolicyError';
  }
}

export function formatProblem(p: PolicyProblem): string {
  const where = `${p.file}:${p.line}:${p.column}`;
  return p.path ? `${where}: ${p.path}: ${p.message}` : `${where}: ${p.message}`;
}

/** Refuse absurdly large files before parsing: a policy is a few kilobytes. */
export const MAX_POLICY_BYTES = 256 * 1024;

/**
 * Who reads the policy (#29): `whole`, the root supervisor or the cage manager, checks every file
 * it names and every account it depends on; `part`, the unprivileged `cloison` part, reads only the
 * text the manager runs (`policy.current`: one the manager loaded and checked whole, and no other)
 * and skips what only the manager uses or acts on — the WireGuard configurations, which hold the
 * levels' private keys and stay root's alone (0600); the cages' and card proxies' uids against the
 * name service (two spawns of its look-up, nameServiceIds: the manager asked at its load, the
 * part's account known, and asks again at each cage's and proxy's start, where they run); the
 * unlock's PAM stack (the manager's pam.check reads it again at each unlock). A wrong one refuses
 * the manager's load (file:line) before the part is answered. The part still parses the text whole
 * against the schema, and checks the recipient keys (public) as itself: its diode encrypts to them.
 */
export type PolicyReading = 'whole' | 'part';

export function loadPolicyFile(file: string): Policy {
  return readPolicyFile(file).policy;
}

/** The policy and the text it was read from (the running policy keeps both: its sha256 is shown). */
export function readPolicyFile(file: string, reading: PolicyReading = 'whole', partAccount?: Reader): { policy: Policy; text: string } {
  const text = readPolicyText(file);
  return { policy: parsePolicy(text, file, reading, partAccount), text };
}

/**
 * readPolicyFile for a reload, while the process serves: the name service is asked about the
 * cages' and proxies' uids without stopping it (ownIds.ts: a directory that hangs is waited on
 * up to its timeout), the rest read as readPolicyFile reads it.
 */
export async function readPolicyFileAsync(file: string, reading: PolicyReading = 'whole', partAccount?: Reader): Promise<{ policy: Policy; text: string }> {
  const text = readPolicyText(file);
  return { policy: await parsePolicyAsking(text, file, reading, partAccount), text };
}

/**
 * parsePolicy with the name service and gpg asked without stopping the process (a text already
 * read: the manager's reload): the uids' look-up and the recipient keys' listings run meanwhile,
 * each up to its own timeout, then the text is checked as parsePolicy checks it, with their answers.
 */
export async function parsePolicyAsking(text: string, file: string, reading: PolicyReading = 'whole', partAccount?: Reader): Promise<Policy> {
  // The uids are known once the schema takes the text; a text it refuses is refused as ever (no look-up).
  let draft: ReturnType<typeof policySchema.safeParse> | null = null;
  try {
    draft = policySchema.safeParse(parseDocument(text, { uniqueKeys: true }).toJS());
  } catch {
    // YAML the parser throws on: parsePolicy below says where.
  }
  const [holders, recipients] = draft?.success ? await Promise.all([lookUpIdsAsync(ownIdsOf(draft.data)), recipientKeysAsking(draft.data)]) : [undefined, undefined];
  return parsePolicy(text, file, reading, partAccount, holders, recipients);
}

/** Each recipient file a policy names, and what is wrong with its key (null: nothing), as gpg said. */
export type RecipientChecks = ReadonlyMap<string, string | null>;

/** The policy's recipient keys listed by gpg without stopping the process (readRecipientKeyAsync). */
async function recipientKeysAsking(policy: Policy): Promise<RecipientChecks> {
  const files = [...new Set(recipientLists(policy).flatMap(({ files }) => files ?? []))];
  const problems = await Promise.all(files.map((f) => readRecipientKeyAsync(f).then(() => null, (err: Error) => err.message)));
  return new Map(files.map((f, i) => [f, problems[i]!]));
}

function readPolicyText(file: string): string {
  try {
    const buf = readFileSync(file);
    if (buf.length > MAX_POLICY_BYTES) {
      throw new PolicyError([{ file, line: 1, column: 1, path: '', message: `file is ${buf.length} bytes; a policy may be at most ${MAX_POLICY_BYTES}` }]);
    }
    return buf.toString('utf8');
  } catch (err) {
    if (err instanceof PolicyError) throw err;
    throw new PolicyError([{ file, line: 0, column: 0, path: '', message: `cannot read policy: ${(err as Error).message}` }]);
  }
}

export function loadDefaultPolicy(): Policy {
  return parsePolicy(DEFAULT_POLICY_YAML, DEFAULT_POLICY_NAME);
}

/**
 * `partAccount` (the cage manager's load, as root): the account of the part that will read the
 * policy again — each recipient key must be readable by it too (readableBy.ts), refused here with
 * its place rather than by a part that could not start.
 */
export function parsePolicy(text: string, file: string, reading: PolicyReading = 'whole', partAccount?: Reader, holders?: IdHolders, recipients?: RecipientChecks): Policy {
  // Files the policy names are read now: a policy is refused whole, never half-way at first use.
  // The part's reading: the manager's own checks left to it (PolicyReading, above).
  return parseYamlAgainst(policySchema, text, file, (policy) => [...checkRecipientFiles(policy, partAccount, recipients), ...(reading === 'whole' ? [...checkTunnelConfigs(policy), ...checkUnlockService(policy), ...checkOwnIds(policy, partAccount, holders)] : [])]);
}

/**
 * A YAML document checked against a schema (the policy, a training scenario): every problem with
 * its file, line and column, and the path of what is wrong. `more` adds problems the schema cannot
 * see (files the document names), located the same way.
 */
export function parseYamlAgainst<S extends z.ZodType>(schema: S, text: string, file: string, more?: (value: z.infer<S>) => Array<{ path: Array<string | number>; message: string }>): z.infer<S> {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new PolicyError(
      doc.errors.map((e) => {
        const pos = lineCounter.linePos(e.pos[0]);
        return { file, line: pos.line, column: pos.col, path: '', message: `YAML: ${e.message.split('\n')[0]}` };
      }),
    );
  }
  const result = schema.safeParse(doc.toJS());
  if (!result.success) throw new PolicyError(result.error.issues.flatMap(fittingBranchIssues).map((issue) => locateIssue(issue, doc, lineCounter, file, schema)));
  const extra = more?.(result.data) ?? [];
  if (extra.length > 0) throw new PolicyError(extra.map(({ path, message }) => locateIssue({ code: 'custom', path, message, input: undefined } as z.core.$ZodIssue, doc, lineCounter, file)));
  return result.data;
}

/** The ids the policy runs something as: its bwrap cages' and its card proxies' uids. */
function ownIdsOf(policy: Policy): number[] {
  return [...bwrapCageUids(policy).map((c) => c.uid), ...(policy.smartcard ? cardProxyUids(policy.smartcard).map((p) => p.uid) : [])];
}

/** The cages' and the card proxies' uids nobody's (ownIds.ts): every one asked in one look-up (`given`: a reload's, asked before). */
function checkOwnIds(policy: Policy, partAccount?: Reader, given?: IdHolders): Array<{ path: Array<string | number>; message: string }> {
  const holders = given ?? lookUpIds(ownIdsOf(policy));
  return [...checkCageUidAccounts(policy, partAccount, holders), ...checkCardProxyAccounts(policy.smartcard, partAccount, holders)];
}

/** Every WireGuard configuration a level names must be whole, valid and root's alone. */
function checkTunnelConfigs(policy: Policy): Array<{ path: Array<string | number>; message: string }> {
  return policy.levels.flatMap((level, i) => {
    if (level.cage.driver !== 'bwrap' || !isWireguard(level.cage.network)) return [];
    try {
      readWireguardConfig(level.cage.network.config);
      return [];
    } catch (err) {
      return [{ path: ['levels', i, 'cage', 'network', 'config'], message: (err as Error).message }];
    }
  });
}

/** The unlock's PAM service must not grant without the user's password (pam_rootok, pam_permit…). */
function checkUnlockService(policy: Policy): Array<{ path: Array<string | number>; message: string }> {
  const problem = unlockStackProblem(policy.session.pamService);
  return problem ? [{ path: ['session', 'pamService'], message: problem }] : [];
}

/** Every recipient key file an encrypting rule names must be a usable public key, root's. */
function checkRecipientFiles(policy: Policy, partAccount?: Reader, given?: RecipientChecks): Array<{ path: Array<string | number>; message: string }> {
  const problems: Array<{ path: Array<string | number>; message: string }> = [];
  const check = (files: readonly string[] | undefined, at: Array<string | number>) =>
    files?.forEach((f, i) => {
      try {
        const asked = given?.get(f);
        if (typeof asked === 'string') throw new Error(asked);
        if (asked === undefined) readRecipientKey(f); // not asked before (null: asked, and fine)
        const unreadable = partAccount ? unreadableBy(f, partAccount) : null;
        if (unreadable) throw new Error(`the recipient key ${f} cannot be read by the ${partAccount!.name} part (uid ${partAccount!.uid}), which encrypts to it: ${unreadable}; the file and every folder above it must be readable by that account (a public key: root's, 0644, in folders 0755)`);
      } catch (err) {
        problems.push({ path: [...at, 'recipients', i], message: (err as Error).message });
      }
    });
  for (const { files, at } of recipientLists(policy)) check(files, at);
  return problems;
}

/** Each list of recipient key files the policy's encrypting rules name, with where it stands. */
function recipientLists(policy: Policy): Array<{ files: readonly string[] | undefined; at: Array<string | number> }> {
  return [
    ...(['up', 'down', 'lateral'] as const).map((dir) => ({ files: policy.files[dir].recipients, at: ['files', dir] })),
    ...policy.files.pairs.map((pair, i) => ({ files: pair.recipients, at: ['files', 'pairs', i] })),
  ];
}

function locateIssue(issue: z.core.$ZodIssue, doc: Document, lc: LineCounter, file: string, schema?: z.core.$ZodType): PolicyProblem {
  const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
  // Find the deepest node that exists on the path: a missing key is reported at its parent.
  let offset = 0;
  for (let depth = path.length; depth >= 0; depth--) {
    const node = depth === 0 ? doc.contents : doc.getIn(path.slice(0, depth), true);
    if (isNode(node) && node.range) {
      offset = node.range[0];
      break;
    }
  }
  // Unknown keys: point at the key itself.
  if (issue.code === 'unrecognized_keys') {
    const parent = path.length === 0 ? doc.contents : doc.getIn(path, true);
    if (isNode(parent) && 'items' in parent) {
      for (const pair of (parent as { items: Array<{ key: unknown }> }).items) {
        if (isNode(pair.key) && issue.keys.includes(String((pair.key as { value?: unknown }).value)) && pair.key.range) {
          offset = pair.key.range[0];
          break;
        }
      }
    }
  }
  const pos = lc.linePos(offset);
  const message = describeIssue(issue, doc.hasIn(path));
  return { file, line: pos.line, column: pos.col, path: formatPath(path), message: issue.code === 'unrecognized_keys' && schema ? message + meantKeys(issue.keys, schema, path, doc) : message };
}

/**
 * A union none of whose forms took the value says what is wrong with the one form its value has
 * (an app written as a map: its `autostart: yes`, not "an app is { id, exec, autostart } or a
 * command line"): the one branch whose own issues are all inside the value, none about the value
 * itself. Where no branch or several fit (a string that is none of the names a union allows), the
 * union's own message stays.
 */
function fittingBranchIssues(issue: z.core.$ZodIssue): z.core.$ZodIssue[] {
  if (issue.code !== 'invalid_union' || !Array.isArray(issue.errors)) return [issue];
  const fitting = issue.errors.filter((branch) => branch.length > 0 && branch.every((i) => i.path.length > 0));
  if (fitting.length !== 1) return [issue];
  return fitting[0]!.flatMap((inner) => fittingBranchIssues({ ...inner, path: [...issue.path, ...inner.path] }));
}

/** " — did you mean …?" for unknown keys that are likely typos of a key the schema takes there and the file does not write. */
function meantKeys(unknown: readonly string[], schema: z.core.$ZodType, path: Array<string | number>, doc: Document): string {
  const here = doc.getIn(path, false) as unknown;
  const written = new Set(here && typeof here === 'object' && 'items' in here ? (here as { items: Array<{ key: unknown }> }).items.map((p) => String(isNode(p.key) ? (p.key as { value?: unknown }).value : p.key)) : []);
  const accepted = keysAcceptedAt(schema, path);
  const meant = unknown.map((key) => [key, suggestKey(key, accepted, written)] as const).filter((m): m is readonly [string, string] => m[1] !== null);
  if (meant.length === 0) return '';
  return unknown.length === 1 ? ` — did you mean "${meant[0]![1]}"?` : ` — did you mean ${meant.map(([key, s]) => `"${s}" for "${key}"`).join(', ')}?`;
}

function formatPath(path: Array<string | number>): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? p : `.${p}`)).join('');
}

function describeIssue(issue: z.core.$ZodIssue, present: boolean): string {
  switch (issue.code) {
    case 'unrecognized_keys':
      return `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'invalid_union':
      if ('discriminator' in issue && issue.discriminator) return `unknown ${issue.discriminator}: expected one of "bwrap", "vnc"`;
      return issue.message;
    case 'invalid_type':
      return present ? `expected ${issue.expected === 'boolean' ? 'true or false' : issue.expected}` : `is required (${issue.expected})`;
    default:
      return issue.message;
  }
}
