/**
 * The "default applications" for apps-memory (supervisor/policy/defaultPolicy.ts): each
 * level's, with the window each maps in its cage, and their start as a user starts them from the
 * trusted launcher — `apps.launch`, the RPC the shell's launcher menu calls (renderer
 * AppLauncher.tsx → preload → supervisor), here on the shell's own RPC socket, so the supervisor
 * starts each through the one mechanism that makes it a cage process.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { rpcClient } from '../../supervisor/testing/rpcClient';
import type { AppWindows, WindowMatch } from './cagesSettled';

export interface DefaultApp {
  level: string;
  id: string;
  autostart: boolean;
  /** Its window in the cage: WM_CLASS (or the title, for mupdf-gl whose freeglut window sets no WM_CLASS). */
  window: WindowMatch;
}

/** The default policy's applications, in its order. */
export const DEFAULT_APPS: readonly DefaultApp[] = [
  { level: 'low', id: 'firefox', autostart: true, window: { class: 'firefox' } }, // firefox-esr / Firefox-esr
  { level: 'low', id: 'pdf', autostart: false, window: { name: '^MuPDF' } }, // "MuPDF: Open document", no WM_CLASS
  { level: 'low', id: 'files', autostart: false, window: { class: '^pcmanfm$' } },
  { level: 'low', id: 'terminal', autostart: false, window: { class: '^xterm$' } },
  { level: 'low', id: 'editor', autostart: false, window: { class: '^mousepad$' } },
  { level: 'high', id: 'writer', autostart: true, window: { class: 'libreoffice-writer' } },
  { level: 'high', id: 'calc', autostart: false, window: { class: 'libreoffice-calc' } },
  { level: 'high', id: 'pdf', autostart: false, window: { name: '^MuPDF' } },
  { level: 'high', id: 'files', autostart: false, window: { class: '^pcmanfm$' } },
  { level: 'high', id: 'terminal', autostart: false, window: { class: '^xterm$' } },
  { level: 'high', id: 'editor', autostart: false, window: { class: '^mousepad$' } },
];

/** The windows of `apps` by level, for cagesSettled. */
export function windowsOf(apps: readonly DefaultApp[]): AppWindows {
  const out: AppWindows = {};
  for (const app of apps) (out[app.level] ??= []).push(app.window);
  return out;
}

/** The shell's RPC socket of an npm start session: split, the `cloison` part's run folder (`r-broker`); --single, the supervisor's (`r`). */
export function shellRpcSocket(root: string): string {
  const socket = ['r-broker', 'r'].map((dir) => join(root, dir, 'supervisor.sock')).find((path) => existsSync(path));
  if (!socket) throw new Error(`no shell RPC socket (supervisor.sock) under ${root}/r-broker or ${root}/r`);
  return socket;
}

/**
 * Starts every application of the default policy that is not autostarted, as the launcher does
 * (`apps.launch` with the level and the id, nothing else). Refuses to go on when the supervisor's
 * list (`apps.list`, the launcher's) is not this table's: a changed default policy must change the
 * benchmark too. Returns the pid the supervisor answered for each, "level/id" → pid.
 */
export async function launchDefaultApps(socket: string): Promise<Record<string, number>> {
  const rpc = await rpcClient(socket);
  try {
    const list = await rpc.call('apps.list', {});
    if (!list.ok) throw new Error(`apps.list refused: ${JSON.stringify(list.error)}`);
    const listed = (list.result.levels as Array<{ level: string; apps: Array<{ id: string }> }>).flatMap((l) => l.apps.map((a) => `${l.level}/${a.id}`));
    const ours = DEFAULT_APPS.map((a) => `${a.level}/${a.id}`);
    if (listed.join(' ') !== ours.join(' ')) throw new Error(`the launcher lists ${listed.join(' ')}, the benchmark knows ${ours.join(' ')}: update bench/lib/defaultApps.ts with the default policy`);
    const pids: Record<string, number> = {};
    for (const app of DEFAULT_APPS.filter((a) => !a.autostart)) {
      const r = await rpc.call('apps.launch', { level: app.level, id: app.id });
      if (!r.ok) throw new Error(`apps.launch ${app.level}/${app.id} refused: ${JSON.stringify(r.error)}`);
      pids[`${app.level}/${app.id}`] = r.result.pid as number;
    }
    return pids;
  } finally {
    rpc.close();
  }
}
