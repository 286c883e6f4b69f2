/**
 * The unprivileged side's end of the cage manager's socket: one connection, requests answered in
 * any order by id. A refusal is a CloisonError with the manager's code (BAD_REQUEST, POLICY_DENIED);
 * a connection the manager closed fails every request still waiting.
 */
import { connect, type Socket } from 'node:net';
import { CloisonError } from '../../shared/errors';
import { encodeFrame, FrameReader } from '../sandbox/frames';
import type { Reply } from './cageManagerServer';
import type { RootRequest } from './requests';

export class CageManagerClient {
  private nextId = 1;
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private readonly reader = new FrameReader(Infinity);

  private constructor(private readonly socket: Socket) {
    socket.on('data', (bytes: Buffer) => {
      for (const frame of this.reader.push(bytes) as Reply[]) {
        const entry = this.waiting.get(frame.id);
        if (!entry) continue;
        this.waiting.delete(frame.id);
        if (frame.ok) entry.resolve(frame.result);
        else entry.reject(new CloisonError(frame.error.code, frame.error.message));
      }
    });
    const fail = () => {
      for (const entry of this.waiting.values()) entry.reject(new CloisonError('INTERNAL', 'the cage manager closed the connection'));
      this.waiting.clear();
    };
    socket.on('close', fail);
    socket.on('error', fail);
  }

  static connect(path: string): Promise<CageManagerClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ path });
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new CageManagerClient(socket));
      });
    });
  }

  request(request: RootRequest): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.socket.write(encodeFrame({ id, request }));
    });
  }

  close(): void {
    this.socket.destroy();
  }
}
