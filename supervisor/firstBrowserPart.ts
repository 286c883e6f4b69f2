/**
 * The cloison part's browser part spawned by the part's entry (cloisonPartEntry.ts), right after
 * the part restricted itself and before the rest of its bundle (cloisonPartMain.cjs: zod, pino,
 * the supervisor) is evaluated (#26: its Node start runs beside that evaluation, not after it).
 * Nothing here evaluates zod: the start is not yet checked by its schema (cloisonPartMain.ts), so
 * only the fields the spawn takes are read, each of its type, or nothing is spawned and the main
 * says why. The part's main takes it (runCloisonPart), gives it its log, and discards it on every
 * way its start fails before the supervisor takes it.
 */
import { GATEWAY_WARM_UP_ROUNDS } from './gateway/gatewayNames';
import { defaultRendererDir } from './rendererDir';
import type { EarlyPart } from './sandbox/partSpawn';
import { earlyBrowserPart, type BrowserPartSpawnSettings } from './browserPart/browserPartSpawn';

type Log = NonNullable<BrowserPartSpawnSettings['log']>;

/** What the browser part needs before it listens, from the part's start (none of it the policy's). */
export type BrowserPartSettings = Required<Pick<BrowserPartSpawnSettings, 'rendererDir' | 'shell' | 'warmUp' | 'runDir'>> & Pick<BrowserPartSpawnSettings, 'extraOrigins'>;

/** The browser part the entry spawned, or why not. */
export interface FirstBrowserPart {
  settings: BrowserPartSettings | null;
  part: EarlyPart | null;
  /** Why none was spawned (its spawn threw), said by the main once it has its log. */
  error: string | null;
  /** The main's log from now on; what the spawn said before is said there first. */
  setLog: (log: Log) => void;
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The settings read from the part's start as its main reads them (its schema's types); null when a
 * field is not of its type: the main's schema then refuses the start. `moduleUrl`: the caller's
 * (the entry's and the main's are in the same folder, built or from source).
 */
export function browserPartSettings(start: unknown, moduleUrl: string): BrowserPartSettings | null {
  if (!isRecord(start) || !isRecord(start.shell)) return null;
  const { partRunDir } = start;
  const { rendererDir, browserShell, allowOrigins } = start.shell;
  if (typeof partRunDir !== 'string' || partRunDir.length === 0 || typeof browserShell !== 'boolean') return null;
  if (rendererDir !== undefined && rendererDir !== null && typeof rendererDir !== 'string') return null;
  if (allowOrigins !== undefined && !(Array.isArray(allowOrigins) && allowOrigins.every((o) => typeof o === 'string'))) return null;
  return {
    rendererDir: rendererDir ?? defaultRendererDir(moduleUrl),
    shell: browserShell,
    ...(allowOrigins ? { extraOrigins: allowOrigins as string[] } : {}),
    warmUp: { rounds: GATEWAY_WARM_UP_ROUNDS, afterMs: 1000 },
    runDir: partRunDir,
  };
}

/** Spawns the browser part from the part's start (the entry's first act once restricted); never throws. */
export function spawnFirstBrowserPart(start: unknown, moduleUrl: string): FirstBrowserPart {
  // Until the main's log exists, what the spawn says (no control group…) waits here.
  const waiting: Array<Parameters<Log>> = [];
  let sink: Log | null = null;
  const log: Log = (msg, fields) => {
    if (sink) sink(msg, fields);
    else waiting.push([msg, fields]);
  };
  const setLog = (next: Log): void => {
    sink = next;
    for (const [msg, fields] of waiting.splice(0)) next(msg, fields);
  };
  const settings = browserPartSettings(start, moduleUrl);
  if (!settings) return { settings: null, part: null, error: null, setLog };
  try {
    return { settings, part: earlyBrowserPart({ ...settings, log }), error: null, setLog };
  } catch (err) {
    return { settings, part: null, error: (err as Error).message, setLog };
  }
}
