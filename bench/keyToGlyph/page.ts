/**
 * The benchmark's viewer page: plain noVNC on a WebSocket URL given in `?ws=`, nothing else.
 * `window.keyTimes` collects, for each key pressed, the time from its keydown to the first canvas
 * change, polled without timer clamping.
 */
import RFB from '@novnc/novnc';

const w = window as unknown as { connected: boolean; keyTimes: number[] };
w.connected = false;
w.keyTimes = [];
const target = document.getElementById('screen')!;
const rfb = new RFB(target, new URL(location.href).searchParams.get('ws')!);
rfb.scaleViewport = false;
rfb.addEventListener('connect', () => (w.connected = true));

const channel = new MessageChannel();
let pending: { t0: number; before: Uint8ClampedArray; canvas: HTMLCanvasElement } | null = null;
const snapshot = (canvas: HTMLCanvasElement) => canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
const differs = (a: Uint8ClampedArray, b: Uint8ClampedArray) => {
  for (let i = 0; i < a.length; i += 4) if (a[i] !== b[i] || a[i + 1] !== b[i + 1] || a[i + 2] !== b[i + 2]) return true;
  return false;
};
channel.port1.onmessage = () => {
  if (!pending) return;
  if (differs(pending.before, snapshot(pending.canvas))) {
    w.keyTimes.push(performance.now() - pending.t0);
    pending = null;
    return;
  }
  if (performance.now() - pending.t0 > 2000) {
    pending = null; // lost: no glyph within 2 s
    return;
  }
  channel.port2.postMessage(0);
};
window.addEventListener(
  'keydown',
  () => {
    const canvas = target.querySelector('canvas');
    if (!canvas) return;
    pending = { t0: performance.now(), before: snapshot(canvas), canvas };
    channel.port2.postMessage(0);
  },
  { capture: true },
);
