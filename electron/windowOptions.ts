/**
 * The shell window's options, in one place, so a test can assert every item of Electron's security
 * checklist. Kiosk: fullscreen, no frame, no menu. Otherwise (issue #26) placed over the display's
 * work area (`workArea`, Electron's screen.getPrimaryDisplay().workArea: the whole screen where no
 * window manager runs) and maximized as it shows (shellWindowMaximized): a workspace shell opens
 * filling the screen, a window manager's panels kept.
 */
import type { BrowserWindowConstructorOptions } from 'electron';

export const APP_SCHEME = 'app';
export const APP_HOST = 'cloison';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;

export interface WorkArea {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Whether the window is maximized as it shows: every window but the kiosk's (which is fullscreen). */
export const shellWindowMaximized = (kiosk: boolean): boolean => !kiosk;

export function shellWindowOptions(preloadPath: string, kiosk: boolean, iconPath?: string, workArea?: WorkArea): BrowserWindowConstructorOptions {
  const place = !kiosk && workArea && workArea.width > 0 && workArea.height > 0 ? workArea : null;
  return {
    ...(iconPath ? { icon: iconPath } : {}),
    ...(place ? { x: place.x, y: place.y, width: place.width, height: place.height } : { width: 1440, height: 900 }),
    kiosk,
    fullscreen: kiosk,
    frame: !kiosk,
    autoHideMenuBar: true,
    backgroundColor: '#111111',
    show: false,
    webPreferences: {
      preload: preloadPath,
      sandbox: true,
      contextIsolation: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      experimentalFeatures: false,
      webviewTag: false,
      navigateOnDragDrop: false,
      spellcheck: false,
      devTools: !kiosk,
      safeDialogs: true,
      // Middle-click (auxclick) could open links in new windows; the shell has no links to open.
      disableBlinkFeatures: 'Auxclick',
    },
  };
}

/** Content-Security-Policy of the shell page; the gateway is the only other origin it may reach. */
export function shellCsp(gatewayOrigin: string): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    `connect-src 'self' ${gatewayOrigin.replace(/^http/, 'ws')}`,
    // The cages' viewer frames, each under an app:// host of its own (app://viewer-<level>).
    'frame-src app:',
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** A viewer frame: the gateway only, embedded by the shell only. */
export function viewerCsp(gatewayOrigin: string): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    `connect-src ${gatewayOrigin.replace(/^http/, 'ws')}/vnc`,
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
    `frame-ancestors ${APP_ORIGIN}`,
  ].join('; ');
}
