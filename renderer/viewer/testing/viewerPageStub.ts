/**
 * Test helper: the viewer page's surroundings in jsdom, for tests that import viewerMain.ts itself —
 * its address naming the shell's origin, its #screen, the gateway's WebSocketStream (the test's
 * own), no ResizeObserver work, and a canvas context that draws nothing; and the shell's messages.
 */

export function stubViewerPage(shell: string, gatewayStream: new (url: string) => unknown): void {
  window.history.replaceState(null, '', `/viewer.html?shell=${encodeURIComponent(shell)}`);
  document.body.innerHTML = '<div id="screen"></div>';
  (globalThis as { WebSocketStream?: unknown }).WebSocketStream = gatewayStream;
  (globalThis as { ResizeObserver?: unknown }).ResizeObserver = class {
    observe(): void {}
    disconnect(): void {}
  };
  const context = new Proxy({}, { get: (_t, key) => (key === 'canvas' ? undefined : () => ({ data: new Uint8ClampedArray(4) })) });
  HTMLCanvasElement.prototype.getContext = function () {
    return context;
  } as never;
}

/** A message from the shell's page, as the viewer's frame receives it. */
export function fromShell(shell: string, data: unknown): void {
  window.dispatchEvent(new MessageEvent('message', { data, origin: shell, source: window }));
}

/** Lets the promise turns and zero-delay tasks under way run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 30; i++) await new Promise((r) => setTimeout(r, 0));
}
