/**
 * Electron's security checklist, asserted on the one module that builds the shell window's options.
 */
import { describe, expect, it } from 'vitest';
import { shellCsp, shellWindowMaximized, shellWindowOptions } from './windowOptions';

describe('shell window options', () => {
  for (const kiosk of [true, false]) {
    it(`follow the Electron security checklist (kiosk ${kiosk})`, () => {
      const o = shellWindowOptions('/app/preload.cjs', kiosk);
      expect(o.webPreferences).toMatchObject({
        preload: '/app/preload.cjs',
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
        disableBlinkFeatures: 'Auxclick',
      });
      expect(o.webPreferences).not.toHaveProperty('enableBlinkFeatures');
      expect(o.webPreferences?.devTools).toBe(!kiosk);
    });
  }

  it('open the non-kiosk window over the work area, maximized; the kiosk as before (#26)', () => {
    const workArea = { x: 0, y: 24, width: 1366, height: 744 };
    expect(shellWindowOptions('/p', false, undefined, workArea)).toMatchObject({ x: 0, y: 24, width: 1366, height: 744, fullscreen: false, frame: true });
    expect(shellWindowMaximized(false)).toBe(true);
    expect(shellWindowOptions('/p', true, undefined, workArea)).toMatchObject({ width: 1440, height: 900, kiosk: true, fullscreen: true });
    expect(shellWindowOptions('/p', true, undefined, workArea)).not.toHaveProperty('x');
    expect(shellWindowMaximized(true)).toBe(false);
    expect(shellWindowOptions('/p', false)).toMatchObject({ width: 1440, height: 900 });
  });

  it('make the kiosk window fullscreen and frameless', () => {
    expect(shellWindowOptions('/p', true)).toMatchObject({ kiosk: true, fullscreen: true, frame: false });
  });

  it('use a CSP with no inline script and only the gateway as another origin', () => {
    const csp = shellCsp('http://127.0.0.1:4567');
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).not.toContain('unsafe-eval');
    expect(csp).toContain("connect-src 'self' ws://127.0.0.1:4567");
    expect(csp).toContain("object-src 'none'");
    expect(csp).toContain('img-src \'self\' data: blob:'); // noVNC decodes JPEG and cursors through data: URLs
  });
});
