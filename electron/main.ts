/**
 * Electron main: one hardened shell window on app://cloison, RPC relayed to the supervisor's Unix
 * socket, the shell's shortcuts caught in before-input-event (before any page or cage sees them),
 * and everything a kiosk must refuse refused: navigation, new windows, permissions, menus.
 *
 * The supervisor is started by the launcher (npm start) or by systemd; its socket and gateway
 * origin come from CLOISON_RPC_SOCKET and CLOISON_GATEWAY_ORIGIN.
 */
import { app, BrowserWindow, ipcMain, Menu, net, protocol, screen, session } from 'electron';
import { join, normalize, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { IPC_CHANNELS, type ShortcutName } from '../shared/preloadApi';
import { isRpcMethod } from '../shared/rpc';
import { isSakEvent } from '../shared/keysyms';
import { chordMatches, parseChord } from '../shared/shortcuts';
import { SupervisorLink } from './supervisorLink';
import { VIEWER_PAGE } from '../shared/viewerProtocol';
import { APP_HOST, APP_ORIGIN, APP_SCHEME, shellCsp, shellWindowMaximized, shellWindowOptions, viewerCsp } from './windowOptions';

const rpcSocket = process.env.CLOISON_RPC_SOCKET;
const gatewayOrigin = process.env.CLOISON_GATEWAY_ORIGIN;
const kiosk = process.env.CLOISON_KIOSK !== '0';
const rendererDir = join(__dirname, '..', 'renderer');

protocol.registerSchemesAsPrivileged([{ scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } }]);
Menu.setApplicationMenu(null);
// A frame may not take the focus without a user's gesture in it when its <iframe> says
// allow="focus-without-user-activation 'none'" (every viewer frame does): a viewer page taken over
// cannot grab the keys typed for another level. Not given to the browser host's Chromium: there it
// puts an "unsupported command-line flag" bar above the band; the shell's frameFocusGuard.ts checks
// in any case.
app.commandLine.appendSwitch('enable-blink-features', 'BlockingFocusWithoutUserActivation');


function isTrustedSender(frame: Electron.WebFrameMain | null): boolean {
  return !!frame && frame.parent === null && new URL(frame.url).origin === APP_ORIGIN;
}

app.whenReady().then(async () => {
  if (!rpcSocket || !gatewayOrigin) {
    console.error('cloison: CLOISON_RPC_SOCKET and CLOISON_GATEWAY_ORIGIN must be set (start with npm start)');
    app.exit(2);
    return;
  }
  const csp = shellCsp(gatewayOrigin);
  const frameCsp = viewerCsp(gatewayOrigin);
  // app://cloison is the shell; app://viewer-<level> serve a cage's viewer page and its assets only.
  protocol.handle(APP_SCHEME, async (request) => {
    const url = new URL(request.url);
    const viewer = /^viewer-[a-z][a-z0-9-]{0,31}$/.test(url.host);
    if (url.host !== APP_HOST && !viewer) return new Response('not found', { status: 404 });
    const relative = url.pathname === '/' ? (viewer ? '' : 'index.html') : decodeURIComponent(url.pathname).slice(1);
    if (viewer ? relative !== VIEWER_PAGE && !relative.startsWith('assets/') : relative === VIEWER_PAGE) return new Response('not found', { status: 404 });
    const file = normalize(join(rendererDir, relative));
    if (!file.startsWith(rendererDir + sep)) return new Response('not found', { status: 404 });
    const response = await net.fetch(pathToFileURL(file).toString());
    const headers = new Headers(response.headers);
    headers.set('Content-Security-Policy', viewer ? frameCsp : csp);
    return new Response(response.body, { status: response.status, headers });
  });
  session.defaultSession.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
  session.defaultSession.setPermissionCheckHandler(() => false);

  const win = new BrowserWindow(shellWindowOptions(join(__dirname, 'preload.cjs'), kiosk, join(__dirname, '..', 'icons', '256x256.png'), screen.getPrimaryDisplay().workArea));
  const link = new SupervisorLink(rpcSocket, (name, data) => {
    if (!win.isDestroyed()) win.webContents.send(IPC_CHANNELS.event, name, data);
  });

  ipcMain.handle(IPC_CHANNELS.call, async (event, method: unknown, params: unknown) => {
    if (!isTrustedSender(event.senderFrame)) return { ok: false, error: { code: 'NOT_AUTHORISED', message: 'untrusted sender' } };
    if (typeof method !== 'string' || !isRpcMethod(method)) return { ok: false, error: { code: 'UNKNOWN_METHOD', message: 'unknown method' } };
    try {
      return { ok: true, result: await link.call(method, params) };
    } catch (error) {
      return { ok: false, error };
    }
  });
  ipcMain.handle(IPC_CHANNELS.gatewayOrigin, (event) => (isTrustedSender(event.senderFrame) ? gatewayOrigin : null));

  const { shortcuts } = (await link.call('session.describe', {})) as { shortcuts: Record<ShortcutName, string> };
  const chords = (['switchLevel', 'copyOut', 'pasteIn', 'lock'] as const).map((name) => ({ name, chord: parseChord(shortcuts[name]) }));
  const sakKey = shortcuts.secureAttention.toLowerCase();
  win.webContents.on('before-input-event', (event, input) => {
    if (input.type !== 'keyDown' && input.type !== 'keyUp') return;
    // The secure-attention key, in every modifier state: the page (and so every cage) never sees it.
    if (isSakEvent(sakKey, input)) {
      event.preventDefault();
      if (input.type === 'keyDown' && !input.isAutoRepeat) win.webContents.send(IPC_CHANNELS.shortcut, 'secureAttention');
      return;
    }
    const shortcut = chords.find((c) => chordMatches(c.chord, input));
    if (shortcut) {
      event.preventDefault();
      if (input.type === 'keyDown' && !input.isAutoRepeat) win.webContents.send(IPC_CHANNELS.shortcut, shortcut.name);
      return;
    }
    // Kiosk chords are not swallowed here: with no menu and no devtools nothing in Electron acts on
    // them, and the page's kiosk guard stops Chromium's own defaults while the cage in front still
    // gets its Ctrl+S or Ctrl+W.
  });
  win.webContents.on('will-navigate', (event) => event.preventDefault());
  win.webContents.on('will-attach-webview', (event) => event.preventDefault());
  win.webContents.setWindowOpenHandler(() => ({ action: 'deny' }));
  win.on('close', (event) => {
    if (kiosk) event.preventDefault();
  });
  win.once('ready-to-show', () => {
    if (shellWindowMaximized(kiosk)) win.maximize(); // filling the screen (#26), a window manager's panels kept
    win.show();
  });
  if (kiosk) void win.webContents.setVisualZoomLevelLimits(1, 1); // no pinch zoom
  await win.loadURL(`${APP_ORIGIN}/index.html${kiosk ? '#kiosk=1' : ''}`);
});

app.on('web-contents-created', (_e, contents) => {
  contents.on('will-navigate', (event) => event.preventDefault());
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
});
