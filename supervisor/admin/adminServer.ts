/**
 * The administrator's socket, separate from the shell's: `status`, `policy.get`, `policy.reload`,
 * `session.lock` (an administrator may lock a workstation, never unlock it) and the trainer's
 * `training.*` (start, status, stop, report), nothing else. It is group-restricted (0660, root and the admin group) and can
 * never reach content that crossed between levels, the clipboard, files, the trust phrase or
 * input: any other method is refused by name (CLIP OS 4: the admin configures, never reads user
 * data; a training report holds the trainee's scores, never what crossed). One JSON object per
 * line each way: {id, method, params?} → {id, ok, result | error}.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { LineFrames } from '../../shared/lineFrames';
import type { CageState, DeviceView, TunnelView } from '../../shared/rpc';
import { listenRestricted } from '../system/unixSocketAccess';

export const ADMIN_METHODS = ['status', 'policy.get', 'policy.reload', 'session.lock', 'training.start', 'training.status', 'training.stop', 'training.report'] as const;
export type AdminMethod = (typeof ADMIN_METHODS)[number];

export interface AdminStatus {
  policySource: string;
  policySha256: string;
  since: string;
  cages: CageState[];
  /** Counts only: which key a user plugged is not the admin's business here (the journal has it). */
  devices: Partial<Record<DeviceView['state'], number>>;
  /** Whether the workstation is locked (who is at it is not the admin's business). */
  locked: boolean;
  /** Each WireGuard level's tunnel: state, last handshake's age, endpoint. */
  tunnels: TunnelView[];
  /** Records written, and records that could not be (each refused its decision, or was a lost fact). */
  journal: { records: number; failures: number };
}

export type AdminHandlers = Record<AdminMethod, (params: unknown) => unknown>;

/** A training scenario travels in its request (the trainer's file, read with their rights). */
const MAX_LINE = 2 * 1024 * 1024;

export function listenAdmin(path: string, handlers: AdminHandlers, options: { group?: number } = {}): Promise<Server> {
  const server = createServer((sock) => {
    const frames = new LineFrames();
    const reply = (frame: unknown) => sock.write(JSON.stringify(frame) + '\n');
    sock.setEncoding('utf8');
    sock.on('data', (chunk: string) => {
      for (const line of frames.push(chunk)) void answer(line, handlers).then(reply);
      if (frames.pendingLength > MAX_LINE) {
        frames.takePending();
        reply({ id: null, ok: false, error: { code: 'BAD_REQUEST', message: 'request too long' } });
        sock.end();
      }
    });
    sock.on('error', () => undefined);
  });
  return listenRestricted(server, path, options.group);
}

async function answer(line: string, handlers: AdminHandlers): Promise<unknown> {
  let request: { id?: unknown; method?: unknown; params?: unknown };
  try {
    request = JSON.parse(line) as typeof request;
  } catch {
    return { id: null, ok: false, error: { code: 'BAD_REQUEST', message: 'not JSON' } };
  }
  const id = typeof request.id === 'number' || typeof request.id === 'string' ? request.id : null;
  const method = typeof request.method === 'string' ? request.method.slice(0, 64) : '';
  if (!(ADMIN_METHODS as readonly string[]).includes(method)) {
    return { id, ok: false, error: { code: 'NOT_AUTHORISED', message: `the admin interface has no "${method}": it offers ${ADMIN_METHODS.join(', ')} and never any content that crossed between levels` } };
  }
  try {
    return { id, ok: true, result: await handlers[method as AdminMethod](request.params) };
  } catch (err) {
    const code = err instanceof AdminRefusal ? 'REFUSED' : 'INTERNAL';
    return { id, ok: false, error: { code, message: (err as Error).message } };
  }
}

/** A request the supervisor declines, with the reason for the administrator (bad parameters, a refused start). */
export class AdminRefusal extends Error {}

/** The gid of a group in /etc/group, or undefined when there is no such group. */
export function groupId(name: string, groupFile = '/etc/group'): number | undefined {
  for (const line of readFileSync(groupFile, 'utf8').split('\n')) {
    const [group, , gid] = line.split(':');
    if (group === name && gid !== undefined) return Number(gid);
  }
  return undefined;
}
