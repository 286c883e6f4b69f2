/**
 * The shell window's options, in one place, so a test can assert every item of Electron's security
 * checklist. Kiosk: fullscreen, no frame, no menu.
 */
import type { BrowserWindowConstructorOptions } from 'electron';

export const APP_SCHEME = 'app';
export const APP_HOST = 'cloison';
export const APP_ORIGIN = `${APP_SCHEME}://${APP_HOST}`;

export function shellWindowOptions(preloadPath: string, kiosk: boolean, iconPath?: string): BrowserWindowConstructorOptions {
  return {
    ...(iconPath ? { icon: iconPath } : {}),
    width: 1440,
    height: 900,
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
