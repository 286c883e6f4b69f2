/**
 * The viewer's part that holds noVNC, loaded by viewerMain.ts after the viewer told the trusted
 * page it is ready: its fetch and compile overlap the page's handing over of the ticket and the
 * gateway's handshake. A connection opened meanwhile (viewerMain.ts) is handed here unread; every
 * guard is installed on noVNC's RFB before the channel is admitted, so the gateway's first byte
 * reaches noVNC's parser only behind them (viewerStart.attack.test.ts).
 */
import RFB from '@novnc/novnc';
import type { ShellToViewer, ViewerPlace, ViewerToShell } from '../../shared/viewerProtocol';
import { countDrawnPixels } from './drawnPixels';
import { guardFramebufferSize } from './framebufferGuard';
import { guardRectangles } from './rectangleGuard';
import type { PacedChannel } from './pacedChannel';
import { askForEncodings, type EncodingChoice } from './encodingChoice';
import { drawInMemory } from './drawInMemory';
import { releaseCanvasWhileHidden, type HiddenCanvas } from './hiddenCanvas';
import { decodeTightInMemory } from './tightInMemory';
import { refuseUnaskedEncodings } from './encodingGuard';
import { refuseStalledImages } from './renderQueueStall';
import { readEarlyBytes } from './earlyBytes';

export type ShellInput = Extract<ShellToViewer, { type: 'key' | 'pointer' | 'wheel' }>;

export interface ViewerSession {
  /** Connects with this ticket URL, over `paced` if the viewer opened it already (unread, not admitted). */
  open(url: string, paced: PacedChannel | null): void;
  setPlace(place: ViewerPlace): void;
  setInput(enabled: boolean): void;
  replay(message: ShellInput): void;
}

export interface ViewerPage {
  screen: HTMLElement;
  tell(message: ViewerToShell): void;
  place(): ViewerPlace;
  inputEnabled(): boolean;
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

/**
 * A build-time switch for measuring (bench/RESULTS.md, inflate-11), never set by the product's build:
 * `VITE_CLOISON_VIEWER_INFLATE=pako` keeps noVNC's own inflator for Tight's zlib streams.
 */
function benchInflate(): 'fflate' | 'pako' {
  return (import.meta.env as Record<string, string | undefined>).VITE_CLOISON_VIEWER_INFLATE === 'pako' ? 'pako' : 'fflate';
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

export function startSession(page: ViewerPage): ViewerSession {
  const { screen, tell } = page;
  let rfb: RFB | null = null;
  let channel: PacedChannel | null = null;
  let hiddenCanvas: HiddenCanvas | null = null;
  const canvas = (): HTMLCanvasElement | null => screen.querySelector('canvas');

  function open(url: string, paced: PacedChannel | null): void {
    rfb?.disconnect();
    channel = paced;
    const place = page.place();
    const r = new RFB(screen, paced ? (paced as unknown as WebSocket) : url, { shared: true }); // noVNC takes any raw channel
    const refused = (reason: string) => {
      console.warn(`cage connection ended: ${reason}`);
      tell({ type: 'state', state: 'unreachable' });
    };
    // What costs the whole path least per frame of a moving page (bench/RESULTS.md, Firefox scroll):
    // no JPEG. JPEG at vncviewer's quality, decoded by ImageDecoder while noVNC reads on
    // (jpegInMemory.ts, renderQueueReadAhead.ts), cut Xvnc's cost a frame by half but cost the
    // renderer more than that (ffscroll-5); the key-to-glyph benchmark's page still runs it.
    // A server that did not wait for the viewer (its whole handshake in one message): read on.
    readEarlyBytes(r);
    const asked = askForEncodings(r, benchEncodingChoice());
    const framebuffer = drawInMemory(r, undefined, refused);
    decodeTightInMemory(r, framebuffer, benchInflate());
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
    r.viewOnly = !page.inputEnabled();
    r.addEventListener('connect', () => {
      // Its screen: what a viewer hidden from its start may still draw of its first frame (pacedChannel.ts).
      const size = r as unknown as { _fbWidth?: number; _fbHeight?: number };
      paced?.connected((size._fbWidth ?? 0) * (size._fbHeight ?? 0));
      tell({ type: 'state', state: 'connected' });
    });
    r.addEventListener('disconnect', () => {
      if (rfb !== r) return; // replaced by a newer connection: not a loss
      rfb = null;
      tell({ type: 'state', state: 'unreachable' });
    });
    r.addEventListener('bell', () => tell({ type: 'bell' }));
    rfb = r;
    // Last: every guard is on, the gateway's first byte may now reach noVNC.
    paced?.admit();
  }

  function replay(message: ShellInput): void {
    const target = canvas();
    if (!target || !rfb || !page.inputEnabled()) return;
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

  return {
    open,
    replay,
    setPlace(place) {
      hiddenCanvas?.setPlace(place);
      channel?.setPlace(place);
    },
    setInput(enabled) {
      if (rfb) rfb.viewOnly = !enabled;
    },
  };
}
