/**
 * Reads on through the bytes a cage's server sent before they were asked for. noVNC 1.7 parses its
 * receive queue once per WebSocket message, and stops where a step says it made no progress: its
 * version step (_negotiateProtocolVersion) answers the server and then returns nothing — taken for
 * "wait for more" — and its handshake loop ends at ServerInit, the first updates still queued. A
 * server that writes its handshake without waiting for the viewer (everything in the gateway's
 * first message: the manager hands the cage's socket over with its bytes waiting) left the viewer
 * "connecting" for ever, its security types, SecurityResult and ServerInit unread; one that wrote its
 * first screen right after its ServerInit left that screen unread until some later message.
 *
 * Those bytes are valid RFB, only early: each message is read here as noVNC reads the next message
 * of a server that waited — its own handler again, while bytes are queued and the last pass moved
 * something (the queue's read position, the handshake's step or the connection's state). Nothing is
 * parsed here; noVNC's own checks (version, security, the guards) apply to every byte as before.
 *
 * Wraps noVNC 1.7's Websock message handler (pinned in package.json), installed before any byte
 * reaches it (viewerSession.ts).
 */
import type RFB from '@novnc/novnc';

interface QueueingSock {
  _rQi: number;
  _rQlen: number;
  _eventHandlers: { message?: () => void };
  on(event: 'message', handler: () => void): void;
}
interface ParsingRfb {
  _sock?: QueueingSock;
  _rfbConnectionState?: string;
  _rfbInitState?: string;
}

/**
 * Passes over one message: one per handshake step and more. Only while connecting: the pass after
 * the one that connected reads the updates queued behind ServerInit, and noVNC's own loop then
 * reads the rest; a connected viewer's messages are handled once, as before.
 */
const MAX_PASSES = 64;

export function readEarlyBytes(rfb: RFB): void {
  const r = rfb as unknown as ParsingRfb;
  const sock = r._sock;
  const handle = sock?._eventHandlers.message;
  if (!sock || typeof handle !== 'function' || typeof sock._rQi !== 'number' || typeof sock._rQlen !== 'number' || typeof r._rfbInitState !== 'string')
    throw new Error("noVNC's receive queue is not 1.7's: its early bytes cannot be read on");
  const state = () => r._rfbConnectionState;
  const where = () => `${state()}/${r._rfbInitState}/${sock._rQi}`;
  sock.on('message', () => {
    // Connected: noVNC's own loop reads all it can of a message, as before.
    if (state() !== 'connecting') return handle();
    for (let pass = 0; pass < MAX_PASSES; pass++) {
      const before = where();
      handle();
      if (sock._rQlen - sock._rQi <= 0 || where() === before) return; // waits for more, as noVNC would
      if (state() === 'connected') return handle(); // the updates queued behind ServerInit
      if (state() !== 'connecting') return; // failed: noVNC said why
    }
  });
}
