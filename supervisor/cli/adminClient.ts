/**
 * The `cloison` command's side of the admin socket: one request, one answer.
 */
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { LineFrames } from '../../shared/lineFrames';
import type { AdminMethod } from '../admin/adminServer';

/** The split's (the cloison part's: the packaged default) first, then the single root supervisor's. */
export const ADMIN_SOCKETS = ['/run/cloison-broker/admin.sock', '/run/cloison/admin.sock'] as const;

/** The admin socket of whichever supervisor runs here (the split's when neither is found: its error names it). */
export function defaultAdminSocket(): string {
  return ADMIN_SOCKETS.find((path) => existsSync(path)) ?? ADMIN_SOCKETS[0];
}

export type AdminReply = { ok: true; result: unknown } | { ok: false; error: { code: string; message: string } };

export function adminCall(socketPath: string, method: AdminMethod | string, params?: unknown, timeoutMs = 120_000): Promise<AdminReply> {
  return new Promise((resolve, reject) => {
    const sock = connect({ path: socketPath });
    const frames = new LineFrames();
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no answer from ${socketPath} within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.setEncoding('utf8');
    sock.on('data', (chunk: string) => {
      const [line] = frames.push(chunk);
      if (line === undefined) return;
      clearTimeout(timer);
      sock.end();
      resolve(JSON.parse(line) as AdminReply);
    });
    sock.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot reach the supervisor's admin socket ${socketPath}: ${err.message}`));
    });
    sock.write(JSON.stringify({ id: 1, method, ...(params === undefined ? {} : { params }) }) + '\n');
  });
}
