/**
 * Test helper: a shell's side of the RPC over the supervisor's Unix socket — calls, and the
 * events the supervisor pushes (confirmation requests among them).
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- a test helper handing back untyped JSON frames */
import { EventEmitter } from 'node:events';
import { connect } from 'node:net';
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
  return new Promise((resolve, reject) => {
    const sock = connect({ path: socketPath });
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
    sock.once('connect', () =>
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
      }),
    );
  });
}

/** Answers a confirmation as a user does: once the dialog has been up for its arming time. */
export async function answerAfterReading(shell: RpcClient, answer: { id: string; accept: boolean }) {
  await new Promise((r) => setTimeout(r, CONFIRM_ARM_MS + 20));
  return shell.call('confirm.answer', answer);
}
