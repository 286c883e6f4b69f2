/**
 * The Electron host, launched for real with Playwright's _electron. Runs where the Electron binary
 * is installed; elsewhere it is skipped with the reason (its download is blocked on some networks).
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { _electron as electron, expect, test } from '@playwright/test';
import { startSupervisor, twoCagePolicy, type SupervisorProcess } from './support/supervisorProcess';

function electronBinary(): { path?: string; reason?: string } {
  try {
    const path = createRequire(import.meta.url)('electron') as unknown as string;
    return existsSync(path) ? { path } : { reason: `electron package points at ${path}, which does not exist` };
  } catch (err) {
    // The npm package is installed, its binary download is not (blocked on some networks).
    return { reason: `Electron binary not installed (download it with: node node_modules/electron/install.js) — ${(err as Error).message.split('\n')[0]}` };
  }
}

const binary = electronBinary();
const display = process.env.DISPLAY;

test.describe('Electron host', () => {
  test.skip(!binary.path, binary.reason ?? 'Electron binary not installed (node node_modules/electron/install.js)');
  test.skip(!display, 'Electron needs a display (run under Xvfb)');

  let sup: SupervisorProcess;
  test.beforeAll(async () => {
    sup = await startSupervisor(twoCagePolicy(), { extraArgs: ['--allow-origin', 'app://cloison'] });
  });
  test.afterAll(async () => {
    await sup?.stop();
  });

  const launchShell = (kiosk: boolean) =>
    electron.launch({
      executablePath: binary.path,
      args: [fileURLToPath(new URL('../out/electron/main.cjs', import.meta.url)), '--no-sandbox'],
      env: { ...process.env, CLOISON_RPC_SOCKET: `${sup.root}/run/supervisor.sock`, CLOISON_GATEWAY_ORIGIN: sup.origin, CLOISON_KIOSK: kiosk ? '1' : '0' },
    });

  test('launches the hardened shell on app://cloison and shows the low level', async () => {
    const app = await launchShell(false);
    const win = await app.firstWindow();
    expect(win.url()).toMatch(/^app:\/\/cloison\//);
    await expect(win.getByTestId('level-band')).toHaveAttribute('data-level', 'low');
    await expect(win.getByTestId('cage-frame-low')).toHaveAttribute('data-viewer', 'connected');
    expect(await win.evaluate(() => typeof (window as unknown as { require?: unknown }).require)).toBe('undefined');
    expect(await win.evaluate(() => Object.keys((window as unknown as { cloison: object }).cloison).sort())).toEqual(['call', 'gatewayOrigin', 'onEvent', 'onShortcut']);
    await app.close();
  });

  test('kiosk: fullscreen kiosk window, no menu, close refused, kiosk keys lose their action', async () => {
    const app = await launchShell(true);
    const win = await app.firstWindow();
    await expect(win.getByTestId('cage-frame-low')).toHaveAttribute('data-viewer', 'connected');
    await expect(win.locator('html')).toHaveAttribute('data-kiosk', '1');
    expect(await app.evaluate(({ BrowserWindow, Menu }) => {
      const w = BrowserWindow.getAllWindows()[0]!;
      return { kiosk: w.isKiosk(), fullscreen: w.isFullScreen(), menu: Menu.getApplicationMenu() === null, devtools: w.webContents.isDevToolsOpened() };
    })).toEqual({ kiosk: true, fullscreen: true, menu: true, devtools: false });
    await win.evaluate('window.__marker = 1');
    for (const key of ['Control+R', 'F5', 'Control+Shift+I', 'F12', 'Control+W', 'Control+Q', 'Control+Equal']) await win.keyboard.press(key);
    await app.evaluate(({ BrowserWindow }) => BrowserWindow.getAllWindows()[0]!.close());
    expect(await win.evaluate('window.__marker')).toBe(1); // neither reloaded nor closed
    expect(await app.evaluate(({ BrowserWindow }) => BrowserWindow.getAllWindows()[0]!.webContents.getZoomFactor())).toBe(1);
    await app.evaluate(({ app: a }) => a.exit(0));
  });
});
