/**
 * Reads the `auth` stack of a PAM service (/etc/pam.d/<name>, its `@include`, `include` and
 * `substack` files, `other` when the service has no file, as libpam does) and asks one question:
 * can it succeed when every credential check fails? It runs the stack as libpam's dispatcher does
 * (pam_dispatch.c: required, requisite, sufficient, optional, `[value=action]`, jumps), with every
 * module that checks a credential (pam_unix, pam_sss…) and pam_deny failing, and every other module
 * succeeding — pam_rootok and pam_permit first among them. A stack that still succeeds would let
 * root (or anyone) unlock without the user's password: the policy naming it is refused, with the
 * PAM file and line that grants (issue: "an administrator can lock a workstation, never unlock it").
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface PamLine {
  file: string;
  line: number;
  module: string;
  actions: Record<string, Action>;
  /** A `substack` line's own stack, counted as one module. */
  sub?: PamLine[];
}

type Action = 'ignore' | 'ok' | 'done' | 'bad' | 'die' | 'reset' | number;

/** Modules that check something the user gives; with a wrong password they fail. */
const CREDENTIAL_MODULES = new Set([
  'pam_unix', 'pam_unix2', 'pam_sss', 'pam_ldap', 'pam_krb5', 'pam_winbind', 'pam_pkcs11', 'pam_p11', 'pam_u2f', 'pam_yubico',
  'pam_google_authenticator', 'pam_oath', 'pam_radius_auth', 'pam_userdb', 'pam_pwdfile', 'pam_fprintd', 'pam_tacplus', 'pam_mysql', 'pam_pgsql',
]);
const FAILING_MODULES = new Set(['pam_deny']);
/** Modules that grant without asking anything: named first when a stack is refused. */
const GRANTING_MODULES = new Set(['pam_rootok', 'pam_permit', 'pam_succeed_if', 'pam_listfile', 'pam_wheel']);

const SIMPLE: Record<string, Record<string, Action>> = {
  required: { success: 'ok', new_authtok_reqd: 'ok', ignore: 'ignore', default: 'bad' },
  requisite: { success: 'ok', new_authtok_reqd: 'ok', ignore: 'ignore', default: 'die' },
  sufficient: { success: 'done', new_authtok_reqd: 'done', default: 'ignore' },
  optional: { success: 'ok', new_authtok_reqd: 'ok', default: 'ignore' },
};
const MAX_INCLUDE_DEPTH = 8;

export class PamStackError extends Error {}

/** The service's `auth` lines, includes expanded, in the order libpam runs them. */
export function authStack(service: string, pamDir = '/etc/pam.d'): PamLine[] {
  let file = join(pamDir, service);
  try {
    readFileSync(file);
  } catch {
    file = join(pamDir, 'other'); // libpam's fallback for a service without a file of its own
  }
  return readStack(file, pamDir, 0, []);
}

function readStack(file: string, pamDir: string, depth: number, seen: string[]): PamLine[] {
  if (depth > MAX_INCLUDE_DEPTH || seen.includes(file)) throw new PamStackError(`${file}: includes nest too deep or loop (${[...seen, file].join(' → ')})`);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new PamStackError(`${file}: cannot read: ${(err as Error).message}`);
  }
  const out: PamLine[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    let raw = lines[i]!;
    while (raw.endsWith('\\') && i + 1 < lines.length) raw = raw.slice(0, -1) + ' ' + lines[++i];
    const content = raw.replace(/#.*/, '').trim();
    if (!content) continue;
    const where = `${file}:${lineNo}`;
    if (content.startsWith('@include')) {
      const name = content.split(/\s+/)[1];
      if (!name) throw new PamStackError(`${where}: @include without a file`);
      out.push(...readStack(join(pamDir, name), pamDir, depth + 1, [...seen, file]));
      continue;
    }
    const match = /^(-?)(\S+)\s+(\[[^\]]*\]|\S+)\s+(\S+)/.exec(content);
    if (!match) throw new PamStackError(`${where}: not a PAM line: ${content.slice(0, 80)}`);
    const [, , type, control, module] = match as unknown as [string, string, string, string, string];
    if (type !== 'auth') continue;
    if (control === 'include' || control === 'substack') {
      // include: its lines run in place; substack: its "done" and "die" end only the substack, whose
      // result counts as one required module's.
      const sub = readStack(join(pamDir, module), pamDir, depth + 1, [...seen, file]);
      if (control === 'include') out.push(...sub);
      else out.push({ file, line: lineNo, module: `substack:${module}`, actions: { success: 'ok', default: 'bad' }, sub });
      continue;
    }
    out.push({ file, line: lineNo, module: moduleName(module), actions: actionsOf(control, where) });
  }
  return out;
}

function moduleName(path: string): string {
  return (path.split('/').pop() ?? path).replace(/\.so$/, '');
}

function actionsOf(control: string, where: string): Record<string, Action> {
  const simple = SIMPLE[control];
  if (simple) return simple;
  if (!control.startsWith('[')) throw new PamStackError(`${where}: unknown control "${control}"`);
  const actions: Record<string, Action> = {};
  for (const pair of control.slice(1, -1).trim().split(/\s+/)) {
    const [key, value] = pair.split('=');
    if (!key || !value) throw new PamStackError(`${where}: bad control "${pair}"`);
    const n = Number(value);
    if (Number.isInteger(n) && n > 0) actions[key] = n;
    else if (['ignore', 'ok', 'done', 'bad', 'die', 'reset'].includes(value)) actions[key] = value as Action;
    else throw new PamStackError(`${where}: bad action "${value}"`);
  }
  return actions;
}

type Outcome = { granted: boolean; by: PamLine[] };

/** Runs the stack with every credential check failing: granted, and the lines that granted. */
export function grantsWithoutCredential(stack: PamLine[]): Outcome {
  let impression: 'undef' | 'good' | 'bad' = 'undef';
  let success = false;
  const by: PamLine[] = [];
  for (let i = 0; i < stack.length; i++) {
    const entry = stack[i]!;
    const sub = entry.sub;
    const ok = sub ? grantsWithoutCredential(sub).granted : !CREDENTIAL_MODULES.has(entry.module) && !FAILING_MODULES.has(entry.module);
    const action = entry.actions[ok ? 'success' : 'auth_err'] ?? entry.actions.default ?? (ok ? 'ok' : 'bad');
    if (typeof action === 'number') {
      i += action; // a jump: skip that many modules, nothing else changes
      continue;
    }
    if (action === 'ok' || action === 'done') {
      if (impression === 'undef' || (impression === 'good' && success)) {
        impression = 'good';
        success = ok;
        if (ok) by.push(entry);
      }
      if (action === 'done') break;
    } else if (action === 'bad' || action === 'die') {
      if (impression !== 'bad') {
        impression = 'bad';
        success = false;
      }
      if (action === 'die') break;
    } else if (action === 'reset') {
      impression = 'undef';
      success = false;
      by.length = 0;
    }
  }
  return { granted: impression === 'good' && success, by };
}

/**
 * Why a service may not check the unlock password, or null when it may: its stack cannot be read,
 * or it succeeds without the user's credential (named by file:line).
 */
export function unlockStackProblem(service: string, pamDir = '/etc/pam.d'): string | null {
  let stack: PamLine[];
  try {
    stack = authStack(service, pamDir);
  } catch (err) {
    return (err as Error).message;
  }
  if (stack.length === 0) return `PAM service "${service}" has no auth line: PAM would refuse every password`;
  const { granted, by } = grantsWithoutCredential(stack);
  if (!granted) return null;
  const culprit = by.find((l) => GRANTING_MODULES.has(l.module)) ?? by[0];
  const where = culprit ? `${culprit.file}:${culprit.line}: ${culprit.module}.so` : 'its auth stack';
  return `PAM service "${service}" grants without the user's password (${where} succeeds with no credential checked, for root or anyone): it cannot unlock the workstation`;
}
