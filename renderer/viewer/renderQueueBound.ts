/**
 * A bound on what noVNC's render queue holds but has not drawn. Behind an image or a video frame the
 * browser is still decoding, noVNC queues every later drawing, and a copy of each rectangle's pixels
 * (4 bytes a pixel): whole-screen rectangles of ~100 bytes each held 366 MiB for 21 KB sent
 * (renderQueueFlood.attack.test.ts). Past two screens' worth, the rectangle is refused and the
 * connection ends (noVNC fails a connection whose decoder throws): a TigerVNC update, its rectangles
 * tiling what changed, queues at most about one screen behind its images.
 *
 * What is held is counted as it is queued and taken off as the queue draws it (the queue only ever
 * draws from its head), so the count is also what the viewer may read ahead by while decodes run
 * (renderQueueReadAhead.ts): however many updates wait, never more than the bound.
 * Wraps noVNC 1.7's Display._renderQPush, which every queued drawing goes through, and
 * _scanRenderQ, which draws them (pinned in package.json); only drawings that wait are counted,
 * nothing on the path that draws at once.
 */
import { RectangleRefused } from './rectangleGuard';

/** What a queued entry costs beyond its pixels: the object noVNC keeps for it. */
const ENTRY_BYTES = 64;
/** Two screens of 4 bytes a pixel; no less than this, whatever the screen (a tiny one queues entries too). */
const SCREENS = 2;
const MIN_BOUND_BYTES = 4 * 2 ** 20;

interface QueuedDrawing {
  type: string;
  data?: Uint8Array;
  img?: { src: string };
  width?: number;
  height?: number;
}
interface QueuingDisplay {
  _renderQ: unknown[];
  _fbWidth: number;
  _fbHeight: number;
  _renderQPush(action: QueuedDrawing): void;
  _scanRenderQ?: () => void;
}

/** What the queue holds now, and the most it may hold, in bytes. */
export interface RenderQueueHold {
  held(): number;
  bound(): number;
}

/** The bytes an entry holds until drawn: its copied pixels, an image's source and its decoded pixels. */
function heldBy(action: QueuedDrawing): number {
  if (action.data) return ENTRY_BYTES + action.data.byteLength;
  if (action.type === 'img' || action.type === 'frame') return ENTRY_BYTES + (action.img?.src.length ?? 0) + 4 * (action.width ?? 0) * (action.height ?? 0);
  return ENTRY_BYTES;
}

const holds = new WeakMap<object, RenderQueueHold>();

/** The count of a display whose queue boundRenderQueue bounds; null for one it does not. */
export function renderQueueHoldOf(display: object): RenderQueueHold | null {
  return holds.get(display) ?? null;
}

export function boundRenderQueue(display: QueuingDisplay, onRefused: (reason: string) => void): RenderQueueHold {
  if (typeof display._renderQPush !== 'function' || !Array.isArray(display._renderQ))
    throw new Error("noVNC's render queue is not 1.7's: it cannot be bounded");
  const push = display._renderQPush.bind(display);
  const scan = display._scanRenderQ?.bind(display);
  let held = 0;
  /** What each entry still in the queue holds, in the queue's order. */
  let costs: number[] = [];
  const bound = () => Math.max(MIN_BOUND_BYTES, SCREENS * 4 * display._fbWidth * display._fbHeight);
  // The queue draws from its head only: what it no longer holds was drawn.
  const settle = () => {
    const drawn = costs.length - display._renderQ.length;
    if (drawn <= 0) return;
    for (let i = 0; i < drawn; i++) held -= costs[i]!;
    costs = costs.slice(drawn);
  };
  if (scan)
    display._scanRenderQ = () => {
      scan();
      settle();
    };
  display._renderQPush = (action) => {
    settle();
    if (display._renderQ.length === 0) {
      held = 0;
      costs = [];
    }
    const cost = heldBy(action);
    // A flip is never refused: it comes after the update's rectangles, outside noVNC's decoding (its
    // throw would not end the connection), and costs only its entry.
    if (held + cost > bound() && action.type !== 'flip') {
      const reason = `${((held + cost) / 2 ** 20).toFixed(1)} MiB of drawings waiting behind an image still decoding (bound ${(bound() / 2 ** 20).toFixed(1)} MiB)`;
      onRefused(reason);
      // noVNC's _handleDataRect catches it and fails the connection at once: nothing after it is decoded.
      throw new RectangleRefused(reason);
    }
    held += cost;
    costs.push(cost);
    push(action); // may draw it at once (an empty queue): settled then
    settle();
  };
  const hold = { held: () => held, bound };
  holds.set(display, hold);
  return hold;
}
