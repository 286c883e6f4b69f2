/**
 * The names the Electron preload exposes on window.cloison: named functions only, no ipcRenderer.
 */
export interface PreloadApi {
  /** One RPC call to the supervisor, relayed by the main process; rejects with {code, message}. */
  call(method: string, params: unknown): Promise<unknown>;
  /** Supervisor events, already validated by main; returns an unsubscribe function. */
  onEvent(listener: (name: string, data: unknown) => void): () => void;
  /** Origin of the supervisor's VNC gateway (http://127.0.0.1:PORT). */
  gatewayOrigin(): Promise<string>;
  /** Shell shortcuts caught by main in before-input-event (the page never sees those keys). */
  onShortcut(listener: (name: ShortcutName) => void): void;
}

export const SHORTCUT_NAMES = ['switchLevel', 'secureAttention', 'copyOut', 'pasteIn', 'lock'] as const;
export type ShortcutName = (typeof SHORTCUT_NAMES)[number];

export const IPC_CHANNELS = {
  call: 'cloison:call',
  event: 'cloison:event',
  gatewayOrigin: 'cloison:gateway-origin',
  shortcut: 'cloison:shortcut',
} as const;
