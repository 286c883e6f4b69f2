/**
 * The keys a kiosk must never let the browser act on: reload, devtools, view source, zoom, new
 * window or tab, close, quit, print, save page, address bar, history, back/forward, fullscreen
 * toggle. One list for both hosts (Electron's before-input-event, the page's capture listener).
 */
export const KIOSK_BLOCKED_CHORDS = [
  'Ctrl+R', 'Ctrl+Shift+R', 'F5', 'Ctrl+F5', 'Shift+F5',
  'Ctrl+Shift+I', 'Ctrl+Shift+J', 'Ctrl+Shift+C', 'F12', 'Ctrl+U',
  'Ctrl+=', 'Ctrl+Shift+=', 'Ctrl+-', 'Ctrl+Shift+-', 'Ctrl+0',
  'Ctrl+N', 'Ctrl+Shift+N', 'Ctrl+T', 'Ctrl+Shift+T', 'Ctrl+W', 'Ctrl+Shift+W', 'Ctrl+F4', 'Ctrl+Q', 'Alt+F4',
  'Ctrl+P', 'Ctrl+S', 'Ctrl+O', 'Ctrl+L', 'Alt+D', 'F6', 'Ctrl+H', 'Ctrl+J', 'Ctrl+Shift+Delete',
  'Alt+ArrowLeft', 'Alt+ArrowRight', 'BrowserBack', 'BrowserForward', 'F11',
] as const;

/** Zoom keys as the browser sees them, whatever Shift does to them on the layout. */
export const ZOOM_KEYS = ['=', '+', '-', '_', '0'] as const;
