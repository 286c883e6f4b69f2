/**
 * The root part's answer to a viewer at the browser part's gateway: the ticket is spent here, the
 * lock asked here, and the cage's VNC socket connected and checked here (the cage driver's peer
 * check: the cage's uid, its pid namespace) — paused from its connection on, so not one byte is
 * read on this side — then handed over whole (browserPart.ts). In the `cloison` part the cage is the
 * root cage manager's: its connection is the one the manager made and checked (`openVnc`,
 * `cage.vncSocket`), handed over unread, and goes on to the browser part the same way. Every admission and refusal at the
 * cage's socket is journaled, as the gateway did before the split.
 */
import { Socket } from 'node:net';
import type { AuditJournal } from '../audit/auditJournal';
import type { RunningCage } from '../cages/cageDriver';
import { connectPaused } from '../cages/cageVncSocket';
import type { TicketRegistry } from '../gateway/ticketRegistry';
import type { VncOpened } from './partMessages';

export interface ViewerAdmissionOptions {
  tickets: TicketRegistry;
  /** Why no viewer may connect now (the workstation is locked), or null. */
  refusal: () => string | null;
  cageOf: (level: string) => RunningCage | null;
  journal?: AuditJournal;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
  connectTimeoutMs?: number;
}

export type ViewerAdmission = (level: string, ticket: string) => Promise<{ admission: VncOpened; socket?: Socket }>;

export function viewerAdmission(options: ViewerAdmissionOptions): ViewerAdmission {
  /** The cage's socket is not the cage's: said, journaled, the viewer closed with 4001. */
  const refuse = (session: string, level: string, reason: string) => {
    options.log?.('viewer refused: the cage socket is not the cage', { level });
    try {
      options.journal?.append('vnc.refused', 'supervisor', { level, reason });
    } catch {
      /* refused all the same */
    }
    return { admission: { session, close: { code: 4001, reason: `cage unreachable: ${reason}` } } };
  };
  return async (level, ticket) => {
    let session: string;
    try {
      session = options.tickets.redeem(ticket, level).session;
    } catch (err) {
      return { admission: { refused: { status: 403, reason: (err as Error).message } } };
    }
    const refusal = options.refusal();
    if (refusal) return { admission: { refused: { status: 403, reason: refusal } } };
    const cage = options.cageOf(level);
    if (!cage) return { admission: { refused: { status: 503, reason: `cage "${level}" is not running` } } };
    let socket: Socket;
    try {
      socket = cage.openVnc ? handedVnc(await cage.openVnc()) : await connectPaused(cage, options.connectTimeoutMs ?? 5000);
    } catch (err) {
      // Its socket's name is a link or another file (cageVncSocket.ts opens it as itself): a cage's doing, journaled as a refusal.
      if ((err as NodeJS.ErrnoException).code === 'ENOTSOCK') return refuse(session, level, (err as Error).message);
      return { admission: { session, close: { code: 1011, reason: `cage connection failed: ${(err as Error).message}` } } };
    }
    try {
      // A connection the cage manager made was checked there (vncSocketExecutor.ts): its driver refuses any other.
      if (!cage.openVnc) cage.verifyPeer?.(socket);
    } catch (err) {
      socket.destroy();
      return refuse(session, level, (err as Error).message);
    }
    try {
      options.journal?.append('vnc.connect', 'supervisor', { level, session });
    } catch (err) {
      socket.destroy();
      return { admission: { session, close: { code: 1011, reason: (err as Error).message } } };
    }
    return { admission: { session, handle: true }, socket };
  };
}

/** The handle of a socket the cage manager handed over, as a socket not read from (its descriptor goes on to the browser part). */
function handedVnc(handle: object): Socket {
  return new Socket({ handle, readable: true, writable: true, manualStart: true } as never);
}
