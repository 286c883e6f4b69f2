/**
 * The benchmark's viewer page: plain noVNC on a WebSocket URL given in `?ws=`, nothing else.
 * `window.keyTimes` collects, for each key pressed, the time from its keydown to the moment noVNC
 * put the changed pixels on its visible canvas: the canvas is compared with its state at the
 * keydown each time noVNC flips (its last step for every update), so no polling loop competes with
 * the viewer for the page's thread — a poll would add its own period to every figure.
 */
import RFB from '@novnc/novnc';

const w = window as unknown as { connected: boolean; keyTimes: number[] };
w.connected = false;
w.keyTimes = [];
const target = document.getElementById('screen')!;
const rfb = new RFB(target, new URL(location.href).searchParams.get('ws')!);
rfb.scaleViewport = false;
rfb.addEventListener('connect', () => (w.connected = true));

let pending: { t0: number; before: Uint8ClampedArray; timer: ReturnType<typeof setTimeout> } | null = null;
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
    clearTimeout(pending.timer);
    pending = null;
  }
  last = now;
};

window.addEventListener(
  'keydown',
  () => {
    const t0 = performance.now();
    const c = canvas();
    if (!c) return;
    last ??= snapshot(c);
    pending = { t0, before: last, timer: setTimeout(() => (pending = null), 2000) }; // lost: no glyph within 2 s
  },
  { capture: true },
);
