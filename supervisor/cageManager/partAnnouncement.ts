/**
 * The `cloison` part's two announcements ("listening": a shell may connect; "ready": every cage
 * started or failed), sent on its channel since its stdout is not the terminal's, and printed by
 * the manager on its own stdout as the JSON lines the root supervisor prints (scripts/start.mjs
 * reads them). The part is untrusted and what start.mjs does with them matters: it opens the
 * address in the user's Chromium, gives Electron the socket and origin to trust. So only what an
 * honest part can say passes: an address and origin of plain HTTP on the loopback, the shell's
 * socket in the part's own run folder, the cages' statuses bounded; anything else, nothing printed.
 */
import { basename, dirname } from 'node:path';
import { escapeControls } from '../sandbox/partStderr';

export const PART_ANNOUNCEMENT_TYPE = 'announce';
/** The part's refusal of the training session it was started with (`reason`): the manager stops. */
export const TRAINING_REFUSED_TYPE = 'trainingRefused';

/** A reason the part gives, as one bounded line of printable text (start.mjs prints it on the terminal). */
export function partReason(value: unknown): string {
  if (typeof value !== 'string') return 'no reason given';
  return value.slice(0, 500).replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, ' ');
}

const LOOPBACK = new Set(['127.0.0.1', '[::1]', 'localhost']);

function loopbackHttp(value: unknown): URL | null {
  if (typeof value !== 'string' || value.length > 2048) return null;
  try {
    const url = new URL(value);
    return url.protocol === 'http:' && LOOPBACK.has(url.hostname) && url.username === '' && url.password === '' ? url : null;
  } catch {
    return null;
  }
}

/**
 * Bounded text with nothing a terminal acts on: no control character, and no bidi override, line
 * separator or invisible formatter either (start.mjs prints a cage's detail on the user's terminal,
 * where a U+202E would show a crash reordered as another cage's "running"): what partStderr.ts escapes.
 */
const text = (value: unknown, max: number, pattern?: RegExp): value is string =>
  typeof value === 'string' && value.length <= max && escapeControls(value) === value && (pattern === undefined || pattern.test(value));

function cagesOf(value: unknown): Array<{ level: string; status: string; detail?: string }> | null {
  if (!Array.isArray(value) || value.length > 16) return null;
  const cages: Array<{ level: string; status: string; detail?: string }> = [];
  for (const cage of value as unknown[]) {
    if (typeof cage !== 'object' || cage === null) return null;
    const { level, status, detail } = cage as Record<string, unknown>;
    if (!text(level, 64, /^[A-Za-z0-9_-]+$/) || !text(status, 32, /^[a-z-]+$/)) return null;
    if (detail !== undefined && detail !== null && !text(detail, 500)) return null;
    cages.push({ level, status, ...(typeof detail === 'string' ? { detail } : {}) });
  }
  return cages;
}

/** The line to print for a part's announcement, or why it is refused. */
export function announcementLine(message: Record<string, unknown>, partRunDir: string): { line: string } | { refused: string } {
  const { state, url, origin, rpcSocket } = message;
  if (state !== 'listening' && state !== 'ready') return { refused: 'no such state' };
  const launch = url === null ? null : loopbackHttp(url);
  if (url !== null && !launch) return { refused: 'the address is not plain HTTP on the loopback' };
  const from = origin === null ? null : loopbackHttp(origin);
  if (origin !== null && (!from || from.origin !== origin)) return { refused: 'the origin is not an HTTP origin on the loopback' };
  if (launch && from && launch.origin !== from.origin) return { refused: 'the address is not at the origin' };
  if (!text(rpcSocket, 512) || dirname(rpcSocket) !== partRunDir || !/^[A-Za-z0-9_-]{1,64}\.sock$/.test(basename(rpcSocket))) return { refused: 'the shell\'s socket is not in the part\'s run folder' };
  const cages = cagesOf(message.cages);
  if (!cages) return { refused: 'the cages\' statuses are not statuses' };
  return { line: JSON.stringify({ [state]: true, url: launch ? launch.href : null, origin: from ? from.origin : null, rpcSocket, cages }) };
}

/**
 * The line saying the part did not start (start.mjs prints its reason on the user's terminal). The
 * reason is the part's own words (partProcess.ts takes its `failed` message's error as given):
 * escaped as its stderr is (partStderr.ts), so no escape sequence reaches the terminal — seen
 * before: an OSC 52 setting the host terminal's clipboard, the line above erased and a cage's
 * status faked (attacks/partMessagesRelay.attack.test.ts). Bounded as before.
 */
export function partFailedLine(reason: string): string {
  return JSON.stringify({ partFailed: true, reason: escapeControls(String(reason)).slice(0, 500) });
}
