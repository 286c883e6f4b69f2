/**
 * Electron main's link to the supervisor's Unix socket: one JSON frame per line, requests matched
 * to responses by id, events handed on. Plain Node: no Electron import, testable without it.
 */
import { connect, type Socket } from 'node:net';
import { LineFrames } from '../shared/lineFrames';
import { serverFrameSchema } from '../shared/rpc';

export class SupervisorLink {
  private readonly sock: Socket;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: { code: string; message: string }) => void }>();
  private readonly frames = new LineFrames();

  constructor(socketPath: string, private readonly onEvent: (name: string, data: unknown) => void) {
    this.sock = connect({ path: socketPath });
    this.sock.setEncoding('utf8');
    this.sock.on('data', (chunk: string) => this.receive(chunk));
    this.sock.on('close', () => {
      for (const p of this.pending.values()) p.reject({ code: 'INTERNAL', message: 'supervisor connection closed' });
      this.pending.clear();
    });
    this.sock.on('error', () => {});
  }

  call(method: string, params: unknown): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.sock.write(JSON.stringify({ type: 'request', id, method, params }) + '\n');
    });
  }

  close(): void {
    this.sock.destroy();
  }

  private receive(chunk: string): void {
    for (const line of this.frames.push(chunk)) {
      let frame;
      try {
        frame = serverFrameSchema.parse(JSON.parse(line));
      } catch {
        continue;
      }
      if (frame.type === 'event') {
        this.onEvent(frame.name, frame.data);
        continue;
      }
      const p = this.pending.get(frame.id);
      if (!p) continue;
      this.pending.delete(frame.id);
      if (frame.ok) p.resolve(frame.result);
      else p.reject(frame.error);
    }
  }
}
