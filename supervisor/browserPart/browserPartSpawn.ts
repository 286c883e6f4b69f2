/**
 * How the browser part's process is spawned (sandbox/partSpawn.ts), for BrowserPart's every start
 * and for one spawned before the supervisor is built (earlyBrowserPart: the cloison part's first
 * act, #29 — its Node start and module loading run beside the part's own start instead of after
 * it). Only what it needs before it listens and that no policy decides is in its start; the
 * policy's part (the levels, the front one, the secure-attention key) and its ports come first
 * on its channel (partMessages.ts's `listen`).
 */
import { randomBytes } from 'node:crypto';
import { chownSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { MAX_RPC_FRAME_BYTES } from '../../shared/rpc';
import { journalWriterAccount } from '../audit/journalKey';
import { createCageCgroup, openCageCgroup } from '../cages/cageCgroup';
import { EarlyPart, type PartSpawnSpec } from '../sandbox/partSpawn';
import { HOT_PART_NODE_FLAGS } from '../sandbox/unprivilegedPart';
import { removeOwnedFolders } from '../system/ownedFolders';
import { PART_START_ENV, type PartStart } from './partMessages';

/** What its spawn takes of the supervisor's settings: none of it from the policy. */
export interface BrowserPartSpawnSettings {
  rendererDir: string | null;
  shell: boolean;
  extraOrigins?: string[];
  warmUp?: { rounds: number; afterMs: number };
  /** The part's own folder is made here (the supervisor's run folder). */
  runDir: string;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
  /** Another script in the part's place, started and restricted the same way (tests: a compromised part). */
  partScript?: string;
}

/** Its control group's (sandbox/partCgroup.ts): the HTTP/WebSocket host and the VNC gateway of both cages' viewers, with room; a fork or allocation without end stops there. */
const PART_LIMITS = { memoryBytes: 1024 * 2 ** 20, tasks: 256 };

export function browserPartSpawn(settings: BrowserPartSpawnSettings): PartSpawnSpec {
  return {
    name: 'browser part',
    command: { callerUrl: import.meta.url, source: 'partMain.ts', bundle: 'browserPart.js', nodeFlags: HOT_PART_NODE_FLAGS, ...(settings.partScript ? { script: settings.partScript } : {}) },
    account: journalWriterAccount,
    startEnv: PART_START_ENV,
    start: (account) => browserPartStart(settings, account),
    lang: process.env.LANG ?? 'C.UTF-8',
    limits: PART_LIMITS,
    controlGroups: { create: createCageCgroup, open: openCageCgroup },
    ...(settings.log ? { log: settings.log } : {}),
  };
}

/** The browser part spawned now, for BrowserPart's first start to take (PartDefinition's `early`). */
export function earlyBrowserPart(settings: BrowserPartSpawnSettings): EarlyPart {
  mkdirSync(settings.runDir, { recursive: true, mode: 0o700 });
  return new EarlyPart(browserPartSpawn(settings));
}

function browserPartStart(settings: BrowserPartSpawnSettings, account: { uid: number; gid: number } | null): PartStart {
  return {
    rendererDir: settings.rendererDir,
    shell: settings.shell,
    extraOrigins: settings.extraOrigins ?? [],
    account,
    partDir: freshPartDir(settings, account),
    maxRpcFrameBytes: MAX_RPC_FRAME_BYTES,
    warmUp: settings.warmUp ?? null,
  };
}

/** The part's folder, new at each start, its account's. */
function freshPartDir(settings: BrowserPartSpawnSettings, account: { uid: number; gid: number } | null): string {
  const dir = join(settings.runDir, 'browser-part');
  // The old folder is the part's: renamed aside under a name of the root part's choosing, then removed.
  const aside = join(settings.runDir, `browser-part.old-${randomBytes(8).toString('hex')}`);
  let moved = true;
  try {
    renameSync(dir, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    moved = false;
  }
  if (moved) removeOldPartDir(aside, settings.log);
  mkdirSync(dir, { mode: 0o700 });
  if (account) chownSync(dir, account.uid, account.gid);
  return dir;
}

/**
 * Root never walks the old folder: its account, still alive (single mode, where the supervisor is
 * root), could swap a subfolder for a link once root has listed it, and root's unlinks would land
 * wherever it points (partFolderRace.attack.test.ts). It is emptied as its owner, whatever the
 * depth (find -delete: system/ownedFolders.ts, as for a card proxy's folders), in the background —
 * the new folder does not wait for it. Unprivileged, the folder is our own: rmSync (it may be deeper
 * than PATH_MAX: rmSync then throws ENAMETOOLONG, and what is left stays aside).
 */
function removeOldPartDir(aside: string, log: BrowserPartSpawnSettings['log']): void {
  const notRemoved = (err: unknown) => log?.('browser part: its old folder not removed', { folder: aside, error: (err as Error).message.slice(0, 200) });
  if (process.getuid?.() === 0) {
    // One not emptied (a file another uid owns in it) stays under a name of its own: said, nothing waits for it.
    removeOwnedFolders([aside])
      .then((left) => {
        if (left.length > 0) notRemoved(new Error(`left aside as ${left.join(', ')}`));
      })
      .catch(notRemoved);
    return;
  }
  try {
    rmSync(aside, { recursive: true, force: true });
  } catch (err) {
    notRemoved(err);
  }
}
