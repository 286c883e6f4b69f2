/**
 * One cage's viewer, in a frame of its own origin: the only code that parses that cage's bytes
 * (noVNC's decoders), in a renderer process that holds no authority — no RPC, no other cage, only
 * the one-time ticket the trusted page hands it. It takes input only as the trusted page hands it
 * over (viewerProtocol.ts), replayed as events on noVNC's canvas; it never has the keyboard focus.
 */
// First: before noVNC's modules are evaluated (noVideoDecoder.ts).
import './noVideoDecoder';
import RFB from '@novnc/novnc';
import type { ShellToViewer, ViewerPlace, ViewerToShell } from '../../shared/viewerProtocol';
import { countDrawnPixels } from './drawnPixels';
import { guardFramebufferSize } from './framebufferGuard';
import { guardRectangles } from './rectangleGuard';
import { parseShellMessage } from './shellMessage';
import { canPace, PacedChannel } from './pacedChannel';
import { askForEncodings, type EncodingChoice } from './encodingChoice';
import { drawInMemory } from './drawInMemory';
import { releaseCanvasWhileHidden, type HiddenCanvas } from './hiddenCanvas';
import { decodeTightInMemory } from './tightInMemory';
import { refuseUnaskedEncodings } from './encodingGuard';
import { refuseStalledImages } from './renderQueueStall';
import './viewer.css';

/** The trusted page that may embed and drive this viewer, from the address it loaded us with. */
const shellOrigin = new URLSearchParams(location.search).get('shell') ?? '';
const screen = document.getElementById('screen')!;
let rfb: RFB | null = null;
let inputEnabled = false;
/** Hidden until the trusted page says otherwise: a viewer never decodes more than it was told it may. */
let place: ViewerPlace = 'hidden';
let channel: PacedChannel | null = null;
let hiddenCanvas: HiddenCanvas | null = null;

function tell(message: ViewerToShell): void {
  if (window.parent !== window) window.parent.postMessage(message, shellOrigin);
}

function canvas(): HTMLCanvasElement | null {
  return screen.querySelector('canvas');
}

/**
 * A build-time switch for measuring (bench/RESULTS.md, Firefox scroll, scroll-9), never set by the
 * product's build: `VITE_CLOISON_VIEWER_ENCODING=raw` (Raw and CopyRect only), `tight0` or `tight1` (Tight,
 * lossless, compression level 0 or 1); unset, the viewer's choice (lossless, noVNC's compression level 2).
 */
function benchEncodingChoice(): EncodingChoice {
  const chosen = (import.meta.env as Record<string, string | undefined>).VITE_CLOISON_VIEWER_ENCODING;
  if (chosen === 'raw') return { raw: true };
  if (chosen === 'tight0') return { compressLevel: 0 };
  if (chosen === 'tight1') return { compressLevel: 1 };
  return {};
}

function open(url: string): void {
  rfb?.disconnect();
  tell({ type: 'state', state: 'connecting' });
  // Paced by the trusted page's placing of this viewer (pacedChannel.ts) where the browser can.
  const paced = canPace() ? new PacedChannel(url, place) : null;
  channel = paced;
  const r = new RFB(screen, paced ? (paced as unknown as WebSocket) : url, { shared: true }); // noVNC takes any raw channel
  const refused = (reason: string) => {
    console.warn(`cage connection ended: ${reason}`);
    tell({ type: 'state', state: 'unreachable' });
  };
  // What costs the whole path least per frame of a moving page (bench/RESULTS.md, Firefox scroll):
  // no JPEG. JPEG at vncviewer's quality, decoded by ImageDecoder while noVNC reads on
  // (jpegInMemory.ts, renderQueueReadAhead.ts), cut Xvnc's cost a frame by half but cost the
  // renderer more than that (ffscroll-5); the key-to-glyph benchmark's page still runs it.
  const asked = askForEncodings(r, benchEncodingChoice());
  const framebuffer = drawInMemory(r, undefined, refused);
  decodeTightInMemory(r, framebuffer);
  // Hidden, its canvas keeps no pixels: drawn again from the framebuffer as it is shown.
  hiddenCanvas = releaseCanvasWhileHidden(r, framebuffer, place);
  guardFramebufferSize(r, () => tell({ type: 'state', state: 'unreachable' }));
  // Before any decoder reads a rectangle RFB does not allow (Tight's inflators would keep its size).
  guardRectangles(r, refused);
  // Outermost: nothing of an encoding it never asked for is read (the browser's image decoders).
  refuseUnaskedEncodings(r, asked, refused);
  refuseStalledImages(r, refused);
  if (paced)
    countDrawnPixels(r, (pixels, drawnOn) => {
      paced.setScreen(drawnOn.width, drawnOn.height);
      paced.drew(pixels);
    });
  r.scaleViewport = true;
  r.clipViewport = false;
  r.resizeSession = false; // the supervisor sizes the cage (geometry: auto); a viewer never asks
  r.background = '#000000';
  r.focusOnClick = false; // the trusted page keeps the focus
  r.viewOnly = !inputEnabled;
  r.addEventListener('connect', () => {
    paced?.connected();
    tell({ type: 'state', state: 'connected' });
  });
  r.addEventListener('disconnect', () => {
    if (rfb !== r) return; // replaced by a newer connection: not a loss
    rfb = null;
    tell({ type: 'state', state: 'unreachable' });
  });
  r.addEventListener('bell', () => tell({ type: 'bell' }));
  rfb = r;
}

function replay(message: Extract<ShellToViewer, { type: 'key' | 'pointer' | 'wheel' }>): void {
  const target = canvas();
  if (!target || !rfb || !inputEnabled) return;
  if (message.type === 'key') {
    const init = { key: message.key, code: message.code, location: message.location, repeat: message.repeat, ctrlKey: message.ctrl, altKey: message.alt, shiftKey: message.shift, metaKey: message.meta, bubbles: true, cancelable: true };
    const event = new KeyboardEvent(message.event, init);
    Object.defineProperty(event, 'keyCode', { value: message.keyCode });
    Object.defineProperty(event, 'which', { value: message.keyCode });
    target.dispatchEvent(event);
    return;
  }
  // The point is relative to this frame's top-left corner, which is this document's viewport
  // origin: it is already a client coordinate. noVNC takes the canvas's own offset (the centred,
  // letterboxed canvas) and scale off; adding the offset here too put every click a margin away.
  const at = { clientX: message.x, clientY: message.y, bubbles: true, cancelable: true };
  if (message.type === 'wheel') {
    target.dispatchEvent(withFraction(new WheelEvent('wheel', { ...at, deltaX: message.deltaX, deltaY: message.deltaY, deltaMode: message.deltaMode }), message));
    return;
  }
  target.dispatchEvent(withFraction(new MouseEvent(message.event, { ...at, button: message.button, buttons: message.buttons, ctrlKey: message.ctrl, altKey: message.alt, shiftKey: message.shift, metaKey: message.meta }), message));
}

/**
 * A MouseEvent keeps whole CSS pixels only; the point keeps its fraction (at a pixel ratio of 2 a
 * CSS pixel is two cage pixels), which noVNC reads from clientX and clientY.
 */
function withFraction<E extends MouseEvent>(event: E, point: { x: number; y: number }): E {
  Object.defineProperty(event, 'clientX', { value: point.x });
  Object.defineProperty(event, 'clientY', { value: point.y });
  return event;
}

window.addEventListener('message', (ev: MessageEvent) => {
  // Only the trusted page that embeds us, at the origin it named.
  if (ev.source !== window.parent || ev.origin !== shellOrigin) return;
  const message = parseShellMessage(ev.data);
  if (!message) return;
  if (message.type === 'open') open(message.url);
  else if (message.type === 'input') {
    inputEnabled = message.enabled;
    if (rfb) rfb.viewOnly = !inputEnabled;
  } else if (message.type === 'ping') {
    tell({ type: 'pong' });
  } else if (message.type === 'place') {
    place = message.place;
    hiddenCanvas?.setPlace(place);
    channel?.setPlace(place);
  } else replay(message);
});

tell({ type: 'ready' });
