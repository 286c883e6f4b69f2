/**
 * The benchmark's viewer page: plain noVNC on a WebSocket URL given in `?ws=`, or with the shell
 * viewer's decoding (`?decode=`, set by BENCH_DECODE).
 * `window.keyTimes` collects, for each key pressed, the time from its keydown to the moment noVNC
 * put the changed pixels on its visible canvas: the canvas is compared with its state at the
 * keydown each time noVNC flips (its last step for every update), so no polling loop competes with
 * the viewer for the page's thread — a poll would add its own period to every figure.
 */
import RFB from '@novnc/novnc';
// The shell's own composer is what the composed-key figure measures.
// eslint-disable-next-line cloison/layering
import { createDeadKeyComposer } from '../../renderer/keyboard/deadKeyComposer';
// eslint-disable-next-line cloison/layering
import { drawInMemory } from '../../renderer/viewer/drawInMemory';
// eslint-disable-next-line cloison/layering
import { decodeTightInMemory } from '../../renderer/viewer/tightInMemory';
// eslint-disable-next-line cloison/layering
import { askForEncodings, VNCVIEWER_QUALITY } from '../../renderer/viewer/encodingChoice';
// eslint-disable-next-line cloison/layering
import { canDecodeJpegInMemory, decodeJpegInMemory } from '../../renderer/viewer/jpegInMemory';
// eslint-disable-next-line cloison/layering
import { readAheadWhileDecoding } from '../../renderer/viewer/renderQueueReadAhead';

const w = window as unknown as { connected: boolean; keyTimes: number[]; keyNames: string[] };
w.connected = false;
w.keyTimes = [];
/** The key (KeyboardEvent.key) each time in keyTimes was measured from. */
w.keyNames = [];
const target = document.getElementById('screen')!;
const rfb = new RFB(target, new URL(location.href).searchParams.get('ws')!);
rfb.scaleViewport = false;
// `?decode=lossless` or `?decode=jpeg`: the shell viewer's own decoding (in memory), without JPEG or
// with it at vncviewer's quality, read ahead of its decodes (as viewerMain.ts); `lossless0`: without
// JPEG at compression level 0 (scroll-9); without it, plain noVNC (its quality 6 through an <img>).
const decoding = new URL(location.href).searchParams.get('decode');
if (decoding === 'lossless0') {
  decodeTightInMemory(rfb, drawInMemory(rfb));
  askForEncodings(rfb, { compressLevel: 0 });
} else if (decoding === 'lossless' || decoding === 'jpeg') {
  const framebuffer = drawInMemory(rfb);
  decodeTightInMemory(rfb, framebuffer);
  if (decoding === 'jpeg' && canDecodeJpegInMemory()) {
    askForEncodings(rfb, { jpegQuality: VNCVIEWER_QUALITY });
    decodeJpegInMemory(rfb, framebuffer);
    readAheadWhileDecoding(rfb);
  } else askForEncodings(rfb, {});
}
rfb.addEventListener('connect', () => (w.connected = true));

let pending: { t0: number; key: string; before: Uint8ClampedArray; timer: ReturnType<typeof setTimeout> } | null = null;
/** The canvas as the last flip left it: the screen changes only at flips, so a keydown costs no read. */
let last: Uint8ClampedArray | null = null;
const canvas = () => target.querySelector('canvas');
const snapshot = (c: HTMLCanvasElement) => c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
const differs = (a: Uint8ClampedArray, b: Uint8ClampedArray) => {
  for (let i = 0; i < a.length; i += 4) if (a[i] !== b[i] || a[i + 1] !== b[i + 1] || a[i + 2] !== b[i + 2]) return true;
  return false;
};

// noVNC's display object is internal; the benchmark reaches for it, the shell never does.
const display = (rfb as unknown as { _display: { flip(fromQueue?: boolean): void } })._display;
const flip = display.flip.bind(display);
display.flip = (fromQueue?: boolean) => {
  flip(fromQueue);
  const c = canvas();
  if (!c) return;
  const now = snapshot(c);
  if (pending && differs(pending.before, now)) {
    w.keyTimes.push(performance.now() - pending.t0);
    w.keyNames.push(pending.key);
    clearTimeout(pending.timer);
    pending = null;
  }
  last = now;
};

window.addEventListener(
  'keydown',
  (e) => {
    if (e.key === 'Dead' || !e.isTrusted) return; // a dead key draws nothing; replayed events are not keys pressed
    const t0 = performance.now();
    const c = canvas();
    if (!c) return;
    last ??= snapshot(c);
    pending = { t0, key: e.key, before: last, timer: setTimeout(() => (pending = null), 2000) }; // lost: no glyph within 2 s
  },
  { capture: true },
);

// `?surface=1`: as the shell takes keys — an input surface of the page, the dead-key composer, the
// events replayed on noVNC's canvas as the viewer frame does (without the frame's postMessage hop).
if (new URL(location.href).searchParams.get('surface') === '1') {
  const surface = document.createElement('div');
  surface.tabIndex = 0;
  surface.style.cssText = 'position:fixed;inset:0;outline:none';
  document.body.append(surface);
  rfb.focusOnClick = false;
  const composer = createDeadKeyComposer((m) => {
    const event = new KeyboardEvent(m.event, { key: m.key, code: m.code, location: m.location, repeat: m.repeat, ctrlKey: m.ctrl, altKey: m.alt, shiftKey: m.shift, metaKey: m.meta, bubbles: true, cancelable: true });
    Object.defineProperty(event, 'keyCode', { value: m.keyCode });
    canvas()?.dispatchEvent(event);
  });
  const onKey = (e: KeyboardEvent) => {
    const type = e.type as 'keydown' | 'keyup' | 'keypress';
    const letBe = composer.handle({ type, key: e.key, code: e.code, keyCode: e.keyCode, location: e.location, repeat: e.repeat, ctrl: e.ctrlKey, alt: e.altKey, shift: e.shiftKey, meta: e.metaKey, altGraph: e.getModifierState('AltGraph') });
    if (!letBe && type !== 'keypress') e.preventDefault();
  };
  for (const type of ['keydown', 'keyup', 'keypress']) surface.addEventListener(type, onKey as EventListener);
  surface.focus();
}
