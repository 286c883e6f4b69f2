/**
 * The viewer's connection to the gateway, read only as fast as the trusted page can afford: noVNC
 * attaches to it as to a WebSocket, but the bytes come from a WebSocketStream, read one message at
 * a time and only while this viewer's budget of work for the current animation frame is not spent.
 * A viewer not in front but shown (split view) gets a far smaller budget, a hidden one none: it
 * reads nothing until it is shown again, and then repaints from what waited — a message whose read
 * was already under way when it was hidden (the switch away from its cage) waits with the rest.
 * One exception, once: a viewer hidden from its start may read and draw one screen of its cage's
 * first frame (FIRST_SCREEN: the cage's framebuffer in pixels drawn, and in bytes read as Raw
 * carries it), so the first switch to it shows a picture at once; once that is spent, or once the
 * viewer was shown, hidden means nothing read again.
 *
 * Nothing at all is handed on before admit(): the connection may be opened (the ticket handed
 * over, the gateway's handshake under way) while noVNC still loads, but its first byte reaches
 * noVNC only once the viewer's guards are installed (viewerSession.ts).
 * A viewer just shown (the switch to its cage) first lets the frame that reveals it be drawn, with
 * the canvas it had: that frame only composites, and the cage's pixels wait for the next one.
 *
 * The work is counted per encoding cost: each byte read plus each pixel drawn. A compressed or
 * JPEG rectangle costs about its pixels (a third of a byte each and one pixel), a Raw one five
 * times as much (four bytes and one pixel), a fill its pixels only. So a whole screen of a
 * scrolling page fits in one frame's budget, while a Raw flood gets a fifth of it in pixels.
 *
 * What is not read stays in the pipe: the stream applies back-pressure to the browser's socket,
 * the gateway stops reading the cage, and the cage's server coalesces its updates. So a cage that
 * floods its viewer costs the machine at most this budget of work per frame, whatever its
 * encoding, and nothing at all while it is not shown: the trusted page's own frame never waits
 * behind a cage's pixels.
 */
import type { ViewerPlace } from '../../shared/viewerProtocol';

/**
 * Work per animation frame (bytes read + pixels drawn). In front: 1.25 Mi, or 1.5× the screen's
 * pixels if larger — a whole screen of compressed or JPEG rectangles in one frame, so a full-screen
 * scroll step paints in the frame it arrives (at 1920×1080, 3 M); a Raw flood, five per pixel,
 * decodes at most 256 Ki pixels per frame at 1024×640 (the budget measured safe for the level
 * switch, bench/RESULTS.md), a fifth of a screen more widely. Beside the front one, in split view,
 * an eighth of that.
 */
export const WORK_PER_FRAME = { front: 1.25 * 2 ** 20, frontPerScreenPixel: 1.5, besideShare: 1 / 8 } as const;

/**
 * What a viewer hidden from its start may read of its cage's first frame, once: pixels drawn up to
 * the cage's screen, bytes read up to that screen in Raw (4 a pixel) and `slack` for the update's
 * headers. A message that would pass the bytes left is not read while hidden (it waits, as today).
 */
export const FIRST_SCREEN = { bytesPerPixel: 4, slack: 64 * 2 ** 10 } as const;

/** The budget of work per animation frame for a viewer at `place` whose screen has `screenPixels`. */
export function workPerFrame(place: Exclude<ViewerPlace, 'hidden'>, screenPixels: number): number {
  const front = Math.max(WORK_PER_FRAME.front, WORK_PER_FRAME.frontPerScreenPixel * screenPixels);
  return place === 'front' ? front : front * WORK_PER_FRAME.besideShare;
}

/** WebSocket's readyState values (also where no WebSocket global exists, as in unit tests). */
const State = { CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3 } as const;

/** Longest wait for an animation frame before the budget starts again without one. */
const FRAME_FALLBACK_MS = 100;

/** The part of the WebSocketStream interface used here (Chromium 124+, Electron 30+). */
interface WebSocketStreamLike {
  readonly opened: Promise<{ readable: ReadableStream<ArrayBuffer | string>; writable: WritableStream<Uint8Array>; protocol: string }>;
  readonly closed: Promise<{ closeCode?: number; reason?: string }>;
  close(info?: { closeCode?: number; reason?: string }): void;
}
type WebSocketStreamConstructor = new (url: string) => WebSocketStreamLike;

/** Whether this browser can pace its viewers (WebSocketStream); without it noVNC opens a plain WebSocket. */
export function canPace(): boolean {
  return typeof (globalThis as { WebSocketStream?: unknown }).WebSocketStream === 'function';
}

/** The frame clock the budget is counted in: requestAnimationFrame in a page. */
export type NextFrame = (callback: () => void) => void;

/**
 * A raw channel for noVNC (its Websock.attach: send, close, binaryType, the four handlers,
 * protocol, readyState) over a WebSocketStream, paced by place and work (bytes read, pixels drawn).
 */
export class PacedChannel {
  binaryType = 'arraybuffer';
  protocol = '';
  readyState: number = State.CONNECTING;
  onopen: ((e: Event) => void) | null = null;
  onmessage: ((e: { data: ArrayBuffer }) => void) | null = null;
  onclose: ((e: { code: number; reason: string; wasClean: boolean }) => void) | null = null;
  onerror: ((e: Event) => void) | null = null;

  private readonly stream: WebSocketStreamLike;
  private writer: WritableStreamDefaultWriter<Uint8Array> | null = null;
  private reader: ReadableStreamDefaultReader<ArrayBuffer | string> | null = null;
  private place: ViewerPlace;
  /** Until the connection is up, a hidden viewer reads too: its handshake is not a cage's pixels. */
  private holdWhenHidden = false;
  private workThisFrame = 0;
  private screenPixels = 0;
  private frameRequested = false;
  private wake: (() => void) | null = null;
  private shutDone = false;
  /** Shown again after being hidden: nothing is read until the frame that shows it is drawn. */
  private revealing = false;
  /** Which reveal is under way: an earlier one's frame or fallback does not end it. */
  private reveals = 0;
  /** Hidden since its start: what is left of its one screen (FIRST_SCREEN); null once spent or shown. */
  private firstScreen: { pixels: number; bytes: number } | null = null;
  /** Whether the viewer's guards are installed (admit()): until then nothing is handed on. */
  private admitted = false;
  private letIn!: () => void;
  private readonly whenAdmitted = new Promise<void>((resolve) => (this.letIn = resolve));

  constructor(
    url: string,
    place: ViewerPlace,
    private readonly nextFrame: NextFrame = (cb) => requestAnimationFrame(() => cb()),
    private readonly shownPixels: () => number = () => innerWidth * innerHeight * devicePixelRatio ** 2,
  ) {
    this.place = place;
    const Stream = (globalThis as unknown as { WebSocketStream: WebSocketStreamConstructor }).WebSocketStream;
    this.stream = new Stream(url);
    void this.run();
  }

  /** The trusted page moved this viewer: its budget changes now, a hidden one stops reading. */
  setPlace(place: ViewerPlace): void {
    const revealed = this.place === 'hidden' && place !== 'hidden' && this.holdWhenHidden;
    this.place = place;
    if (place !== 'hidden') this.firstScreen = null; // shown once: its one screen is no longer owed
    if (place === 'hidden') this.revealing = false;
    if (revealed) this.holdForReveal();
    this.poke();
  }

  /**
   * The viewer is connected (ServerInit read): from now on, hidden means not read at all — but for
   * one screen of the first frame (`screenPixels`, the cage's framebuffer) if it is hidden now.
   */
  connected(screenPixels = 0): void {
    if (this.holdWhenHidden) return;
    this.holdWhenHidden = true;
    const pixels = Math.max(0, screenPixels);
    if (this.place === 'hidden' && pixels > 0) this.firstScreen = { pixels, bytes: pixels * FIRST_SCREEN.bytesPerPixel + FIRST_SCREEN.slack };
  }

  /** The guards are installed: the channel opens to noVNC and hands on what the gateway sent. */
  admit(): void {
    this.admitted = true;
    this.letIn();
  }

  /** Pixels noVNC has just drawn (every drawing call's damaged rectangle). */
  drew(pixels: number): void {
    this.workThisFrame += pixels;
    if (this.firstScreen && this.place === 'hidden') {
      this.firstScreen.pixels -= pixels;
      if (this.firstScreen.pixels <= 0) this.firstScreen = null;
    }
  }

  /**
   * The cage's screen size, which scales the front budget (one screen of compressed rectangles per
   * frame) — never past what this viewer's frame shows in device pixels: the size is the cage's to
   * choose (xrandr in the cage, up to the policy's largest), its budget must not be.
   */
  setScreen(width: number, height: number): void {
    this.screenPixels = Math.max(0, width) * Math.max(0, height);
  }

  send(data: ArrayBuffer | Uint8Array): void {
    // noVNC reuses its send buffer: the stream must get its own copy.
    const bytes = data instanceof Uint8Array ? data.slice() : new Uint8Array(data.slice(0));
    this.writer?.write(bytes).catch(() => undefined);
  }

  close(): void {
    if (this.readyState === State.CLOSED || this.readyState === State.CLOSING) return;
    this.readyState = State.CLOSING; // from now on nothing more is read
    this.letIn(); // never admitted (replaced while noVNC loaded): its reading ends all the same
    this.poke();
    // The stream itself is closed on a task of its own: noVNC closes from inside a message this
    // channel is handing it (a refused framebuffer size), and cancelling and closing a
    // WebSocketStream from within its own read crashed Chromium 156's renderer (a null
    // dereference settling a promise) in most resize-storm runs.
    setTimeout(() => this.shut(), 0);
  }

  /** Closes the stream once; unread bytes may be waiting (a hidden viewer): cancelling the reader closes all the same. */
  private shut(): void {
    if (this.shutDone) return;
    this.shutDone = true;
    this.reader?.cancel().catch(() => undefined);
    this.stream.close();
  }

  private async run(): Promise<void> {
    let reader: ReadableStreamDefaultReader<ArrayBuffer | string>;
    try {
      const { readable, writable, protocol } = await this.stream.opened;
      this.protocol = protocol;
      this.writer = writable.getWriter();
      reader = this.reader = readable.getReader();
    } catch {
      await this.whenAdmitted; // noVNC is told only once attached behind the guards
      return this.ended(1006, 'connection failed', true);
    }
    // Open, the ticket spent: nothing is handed on until the guards are installed (admit()).
    if (!this.admitted) await this.whenAdmitted;
    if (this.readyState === State.CONNECTING) {
      this.readyState = State.OPEN;
      this.onopen?.(new Event('open'));
    } else {
      // Closed while connecting: noVNC is told the close, never an open. The stream is closed by
      // close()'s own task, never from within the stream's own promises (see close()); if that
      // task ran before the reader existed, the reader is cancelled on a task of its own too.
      setTimeout(() => reader.cancel().catch(() => undefined), 0);
    }
    try {
      for (;;) {
        // Awaited only when it must wait: a promise turn less per message otherwise.
        if (!this.mayReadNow()) await this.mayRead();
        if (this.readyState !== State.OPEN) break;
        const { value, done } = await reader.read();
        if (done) break;
        if (typeof value === 'string') continue; // RFB is binary; the gateway sends nothing else
        // Hidden on its first screen: a message past the bytes left waits until shown, as any.
        if (this.firstScreen && this.place === 'hidden' && value.byteLength > this.firstScreen.bytes) this.firstScreen = null;
        // The read may have waited: closed meanwhile, nothing more is handed on; hidden meanwhile
        // (the switch away from this cage), it waits, undecoded, until shown again.
        if (!this.mayReadNow()) await this.mayRead();
        if (this.readyState !== State.OPEN) break;
        this.workThisFrame += value.byteLength;
        if (this.firstScreen && this.place === 'hidden') this.firstScreen.bytes -= value.byteLength;
        this.onmessage?.({ data: value });
        this.requestFrame(); // the count starts again at the next frame
      }
    } catch {
      /* the stream failed: told below as a close */
    }
    const closed = await this.stream.closed.catch(() => ({ closeCode: 1006, reason: '' }));
    this.ended(closed.closeCode ?? 1005, closed.reason ?? '', false);
  }

  private ended(code: number, reason: string, failed: boolean): void {
    if (this.readyState === State.CLOSED) return;
    this.readyState = State.CLOSED;
    if (failed) this.onerror?.(new Event('error'));
    this.onclose?.({ code, reason, wasClean: !failed });
  }

  /** Whether this viewer may read one more message now: shown (or still connecting), budget left; or closed (nothing to wait for). */
  private mayReadNow(): boolean {
    if (this.readyState !== State.OPEN) return true;
    if (this.revealing) return false;
    if (this.place === 'hidden' && this.holdWhenHidden) return this.firstScreen !== null && this.firstScreen.bytes > 0;
    return this.workThisFrame < this.budget();
  }

  /** Resolves when this viewer may read one more message: shown (or still connecting), budget left. */
  private async mayRead(): Promise<void> {
    for (;;) {
      if (this.mayReadNow()) return;
      const held = (this.place === 'hidden' && this.holdWhenHidden) || this.revealing;
      if (!held) this.requestFrame();
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  /**
   * The switch to this cage: its frame is drawn first with the canvas it has (stale by as long as it
   * was hidden), so the switch's frame composites and decodes nothing; the reading starts again
   * after that frame (the task after its animation frame), or after FRAME_FALLBACK_MS without one.
   */
  private holdForReveal(): void {
    const reveal = ++this.reveals;
    this.revealing = true;
    let done = false;
    const release = () => {
      if (done) return;
      done = true;
      clearTimeout(fallback);
      if (this.reveals !== reveal || !this.revealing) return; // hidden again, or shown again since
      this.revealing = false;
      this.workThisFrame = 0;
      this.poke();
    };
    const fallback = setTimeout(release, FRAME_FALLBACK_MS);
    this.nextFrame(() => setTimeout(release, 0));
  }

  private budget(): number {
    return workPerFrame(this.place === 'hidden' ? 'beside' : this.place, Math.min(this.screenPixels, this.shownPixels()));
  }

  /**
   * A new animation frame: a new budget. A frame that produces none (hidden between the request
   * and the frame) gets a new budget after FRAME_FALLBACK_MS all the same: the reading never
   * waits for a frame that will not come.
   */
  private requestFrame(): void {
    if (this.frameRequested) return;
    this.frameRequested = true;
    let done = false;
    const newFrame = () => {
      if (done) return;
      done = true;
      clearTimeout(fallback);
      this.frameRequested = false;
      this.workThisFrame = 0;
      this.poke();
    };
    const fallback = setTimeout(newFrame, FRAME_FALLBACK_MS);
    this.nextFrame(newFrame);
  }

  private poke(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }
}
