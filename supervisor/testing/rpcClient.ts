/**
 * Test helper: a shell's side of the RPC over the supervisor's Unix socket — calls, and the
 * events the supervisor pushes (confirmation requests among them).
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- a test helper handing back untyped JSON frames */
import { EventEmitter } from 'node:events';
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { Duplex } from 'node:stream';
import { LineFrames } from '../../shared/lineFrames';
import { CONFIRM_ARM_MS } from '../confirm/confirmations';

export interface RpcClient {
  call(method: string, params: unknown): Promise<{ ok: boolean; result?: any; error?: { code: string; message: string } }>;
  events: EventEmitter;
  /** Resolves with the next event of that name. */
  next(name: string): Promise<any>;
  close(): void;
}

export function rpcClient(socketPath: string): Promise<RpcClient> {
  return rpcClientOver(connect({ path: socketPath }));
}

/**
 * The same client over a relay that runs as another account (setpriv as uid:gid, a few lines of
 * node piping its standard input and output to the socket): the supervisor sees that account's
 * credentials, as it would see another user's shell.
 */
export function rpcClientAs(socketPath: string, uid: number, gid: number): Promise<RpcClient> {
  const relay = "const s=require('net').connect(process.argv[1]);process.stdin.pipe(s);s.pipe(process.stdout);s.on('error',(e)=>{process.stderr.write(e.message);process.exit(1)});s.on('close',()=>process.exit(0))";
  const child = spawn('setpriv', ['--reuid', String(uid), '--regid', String(gid), '--init-groups', '--', process.execPath, '-e', relay, socketPath], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const stream = Duplex.from({ readable: child.stdout, writable: child.stdin }) as Duplex & { destroy(): void };
  child.once('exit', (code) => stream.destroy(new Error(`relay as uid ${uid} exited ${code}: ${stderr}`)));
  // Writes wait in the relay until its connection is up.
  return rpcClientOver(stream, true).then((client) => ({ ...client, close: () => child.kill() }));
}

function rpcClientOver(sock: Duplex & { setEncoding(e: BufferEncoding): unknown }, connected = false): Promise<RpcClient> {
  return new Promise((resolve, reject) => {
    const events = new EventEmitter();
    const pending = new Map<number, (frame: any) => void>();
    let id = 0;
    const frames = new LineFrames();
    sock.setEncoding('utf8');
    sock.on('data', (chunk: string) => {
      for (const line of frames.push(chunk)) {
        const frame = JSON.parse(line);
        if (frame.type === 'event') events.emit(frame.name, frame.data);
        else pending.get(frame.id)?.(frame);
      }
    });
    sock.once('error', reject);
    const ready = () =>
      resolve({
        call: (method, params) =>
          new Promise((res) => {
            const n = ++id;
            pending.set(n, res);
            sock.write(JSON.stringify({ type: 'request', id: n, method, params }) + '\n');
          }),
        events,
        next: (name) => new Promise((res) => events.once(name, res)),
        close: () => sock.destroy(),
      });
    if (connected) ready();
    else sock.once('connect', ready);
  });
}

/** Answers a confirmation as a user does: once the dialog has been up for its arming time. */
export async function answerAfterReading(shell: RpcClient, answer: { id: string; accept: boolean }) {
  await new Promise((r) => setTimeout(r, CONFIRM_ARM_MS + 20));
  return shell.call('confirm.answer', answer);
}
