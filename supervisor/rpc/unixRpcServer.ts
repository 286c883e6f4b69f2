/**
 * RPC over a Unix socket for the Electron host: one JSON frame per line. Mode 0600 (root's), or
 * 0660 with the shell group when the shell runs as a workstation user (kiosk deployment).
 */
import { createServer, type Server } from 'node:net';
import { LineFrames } from '../../shared/lineFrames';
import { MAX_RPC_FRAME_BYTES } from '../../shared/rpc';
import { peerCredentials } from '../sandbox/peerCredentials';
import { listenRestricted } from '../system/unixSocketAccess';
import { RpcSession, type RpcHandlers, type RpcSessions } from './rpcSession';

export interface UnixRpcOptions {
  group?: number;
}

export function listenUnixRpc(path: string, handlers: RpcHandlers, sessions: RpcSessions, options: UnixRpcOptions = {}): Promise<Server> {
  const server = createServer((sock) => {
    // Who connected, in the kernel's word (SO_PEERCRED): only the workstation user's shell unlocks.
    let peerUid: number | undefined;
    try {
      peerUid = peerCredentials(sock).uid;
    } catch {
      /* no credentials: the session works, and may not unlock */
    }
    const session = new RpcSession(handlers, (text) => sock.write(text + '\n'), undefined, { transport: 'unix', ...(peerUid !== undefined ? { peerUid } : {}) });
    const remove = sessions.add(session);
    const frames = new LineFrames();
    sock.setEncoding('utf8');
    sock.on('data', (chunk: string) => {
      for (const line of frames.push(chunk)) void session.receive(line);
      // A line longer than any valid frame is abuse: answer once and hang up.
      if (frames.pendingLength > MAX_RPC_FRAME_BYTES) void session.receive(frames.takePending()).finally(() => sock.end());
    });
    sock.on('close', remove);
    sock.on('error', remove);
  });
  return listenRestricted(server, path, options.group);
}
