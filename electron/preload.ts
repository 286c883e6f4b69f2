/**
 * Sandboxed preload: exposes named functions on window.cloison, never ipcRenderer itself, and
 * never hands the IPC event object to page code.
 */
import { contextBridge, ipcRenderer } from 'electron';
import { IPC_CHANNELS, SHORTCUT_NAMES, type PreloadApi, type ShortcutName } from '../shared/preloadApi';

const eventListeners = new Set<(name: string, data: unknown) => void>();
ipcRenderer.on(IPC_CHANNELS.event, (_event, name: string, data: unknown) => {
  for (const l of eventListeners) l(name, data);
});

const api: PreloadApi = {
  call: (method, params) =>
    ipcRenderer.invoke(IPC_CHANNELS.call, String(method), params).then((r: { ok: boolean; result?: unknown; error?: unknown }) => {
      if (r.ok) return r.result;
      throw r.error;
    }),
  onEvent: (listener) => {
    eventListeners.add(listener);
    return () => eventListeners.delete(listener);
  },
  gatewayOrigin: () => ipcRenderer.invoke(IPC_CHANNELS.gatewayOrigin) as Promise<string>,
  onShortcut: (listener) => {
    ipcRenderer.on(IPC_CHANNELS.shortcut, (_event, name: unknown) => {
      if (SHORTCUT_NAMES.includes(name as ShortcutName)) listener(name as ShortcutName);
    });
  },
};

contextBridge.exposeInMainWorld('cloison', api);
