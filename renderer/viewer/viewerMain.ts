/**
 * One cage's viewer, in a frame of its own origin: the only code that parses that cage's bytes
 * (noVNC's decoders), in a renderer process that holds no authority — no RPC, no other cage, only
 * the one-time ticket the trusted page hands it. It takes input only as the trusted page hands it
 * over (viewerProtocol.ts), replayed as events on noVNC's canvas; it never has the keyboard focus.
 *
 * This module is small on purpose: it says `ready` at once and loads noVNC (viewerSession.ts)
 * after, so the trusted page's handing over of the ticket and the gateway's WebSocket handshake
 * overlap noVNC's fetch and compile (issue #26). A ticket handed over meanwhile opens its
 * connection here, paced and unread: the channel hands nothing on until viewerSession.ts has
 * installed every guard (pacedChannel.ts, admit()), so no byte of the cage's is parsed before them.
 */
// First: before noVNC's modules are evaluated (noVideoDecoder.ts).
import './noVideoDecoder';
import type { ViewerPlace, ViewerToShell } from '../../shared/viewerProtocol';
import { parseShellMessage } from './shellMessage';
import { canPace, PacedChannel } from './pacedChannel';
import type { ViewerSession } from './viewerSession';
import './viewer.css';

/** The trusted page that may embed and drive this viewer, from the address it loaded us with. */
const shellOrigin = new URLSearchParams(location.search).get('shell') ?? '';
const screen = document.getElementById('screen')!;
let inputEnabled = false;
/** Hidden until the trusted page says otherwise: a viewer never decodes more than it was told it may. */
let place: ViewerPlace = 'hidden';
/** noVNC's part, once loaded. */
let session: ViewerSession | null = null;
/** A ticket handed over while noVNC loads: its connection, opened but unread, waits for the session. */
let waiting: { url: string; paced: PacedChannel | null } | null = null;

function tell(message: ViewerToShell): void {
  if (window.parent !== window) window.parent.postMessage(message, shellOrigin);
}

function open(url: string): void {
  tell({ type: 'state', state: 'connecting' });
  // Paced by the trusted page's placing of this viewer (pacedChannel.ts) where the browser can;
  // without WebSocketStream noVNC opens its own WebSocket, once loaded.
  const paced = canPace() ? new PacedChannel(url, place) : null;
  if (session) return session.open(url, paced);
  waiting?.paced?.close(); // replaced before noVNC was even there
  waiting = { url, paced };
}

window.addEventListener('message', (ev: MessageEvent) => {
  // Only the trusted page that embeds us, at the origin it named.
  if (ev.source !== window.parent || ev.origin !== shellOrigin) return;
  const message = parseShellMessage(ev.data);
  if (!message) return;
  if (message.type === 'open') open(message.url);
  else if (message.type === 'input') {
    inputEnabled = message.enabled;
    session?.setInput(inputEnabled);
  } else if (message.type === 'ping') {
    tell({ type: 'pong' });
  } else if (message.type === 'place') {
    place = message.place;
    waiting?.paced?.setPlace(place);
    session?.setPlace(place);
  } else session?.replay(message); // before noVNC there is no screen to replay input on
});

tell({ type: 'ready' });

void import('./viewerSession').then(
  ({ startSession }) => {
    session = startSession({ screen, tell, place: () => place, inputEnabled: () => inputEnabled });
    const first = waiting;
    waiting = null;
    if (first) session.open(first.url, first.paced);
  },
  (error: unknown) => {
    console.warn(`the viewer could not load noVNC: ${String(error)}`);
    waiting?.paced?.close();
    waiting = null;
    tell({ type: 'state', state: 'unreachable' });
  },
);
