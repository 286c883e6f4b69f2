/**
 * The root part's end of each browser shell's RPC: the browser part relays the WebSocket, the
 * session lives here. A shell is admitted only here — its launch secret or resume token spent
 * against the root part's ShellLaunches — and the connection number the browser part uses from
 * then on is the one given here: a frame for any other number is dropped, so a compromised browser
 * part drives no session a browser could not open itself.
 */
import type { Admission, ShellLaunches } from '../host/shellLaunches';
import { RpcSession, type RpcHandlers, type RpcSessions } from '../rpc/rpcSession';
import type { RootToPart } from './partMessages';

/** Admitted shells whose WebSocket has not opened yet, at most. */
const MAX_WAITING = 16;

export interface ShellRelayOptions {
  launches: ShellLaunches;
  handlers: RpcHandlers;
  sessions: RpcSessions;
  send: (message: RootToPart) => void;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
}

export class ShellRelay {
  private next = 1;
  private readonly waiting = new Map<number, Admission>();
  private readonly open = new Map<number, { session: RpcSession; gone: () => void }>();

  constructor(private readonly options: ShellRelayOptions) {}

  /** Spends what the shell offered; answers a connection number or null. */
  admit(request: number, offered: { launch?: string | undefined; resume?: string | undefined }): void {
    const { launches } = this.options;
    const admission = offered.launch ? launches.launch(offered.launch) : offered.resume ? launches.resume(offered.resume) : null;
    let conn: number | null = null;
    if (admission) {
      conn = this.next++;
      while (this.waiting.size >= MAX_WAITING) this.waiting.delete(this.waiting.keys().next().value!);
      this.waiting.set(conn, admission);
    }
    this.options.send({ type: 'rpc.admitted', request, conn });
  }

  /** The shell's WebSocket is open: its session starts. False for a number never admitted (or already open). */
  opened(conn: number): boolean {
    const admission = this.waiting.get(conn);
    if (!admission) return false;
    this.waiting.delete(conn);
    const { launches, handlers, sessions, send, log } = this.options;
    const session = new RpcSession(handlers, (text) => send({ type: 'rpc.out', conn, text }), log, { session: admission.session, transport: 'websocket' });
    const remove = sessions.add(session);
    const release = launches.connected(admission.session, () => send({ type: 'rpc.close', conn, code: 4000, reason: 'this shell was opened again elsewhere' }));
    this.open.set(conn, {
      session,
      gone: () => {
        remove();
        release();
      },
    });
    session.emit('onSession', admission);
    return true;
  }

  /** A frame from the shell; false (dropped) unless its connection is open. */
  frame(conn: number, text: string): boolean {
    const shell = this.open.get(conn);
    if (!shell) return false;
    void shell.session.receive(text);
    return true;
  }

  closed(conn: number): void {
    this.waiting.delete(conn);
    this.open.get(conn)?.gone();
    this.open.delete(conn);
  }

  /** The browser part ended: every shell it carried is disconnected (their resume tokens count down). */
  partGone(): void {
    this.waiting.clear();
    for (const shell of this.open.values()) shell.gone();
    this.open.clear();
  }

  get connected(): number {
    return this.open.size;
  }
}
