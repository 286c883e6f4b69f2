/**
 * Renderer entry: picks the host transport (Electron preload or browser host), loads the policy
 * view from the supervisor, wires supervisor events into the store and installs the shortcuts.
 */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import type { PreloadApi } from '../shared/preloadApi';
import { App } from './components/App';
import { localeFrom } from './i18n';
import { installShortcutCapture } from './keyboard/shortcutCapture';
import { ShellContext, type ShellContextValue } from './shellContext';
import { createShellStore, nextLevel } from './store/shellStore';
import { connectBrowserTransport, launchTokenFromLocation } from './transport/browserTransport';
import { connectElectronTransport } from './transport/electronTransport';
import type { ShellApi } from './transport/shellApi';
import './styles.css';

const TOKEN_KEY = 'cloison.launchToken';

async function connectHost(): Promise<ShellApi> {
  const preload = (window as unknown as { cloison?: PreloadApi }).cloison;
  if (preload) return connectElectronTransport(preload);
  const token = launchTokenFromLocation(window.location) ?? sessionStorage.getItem(TOKEN_KEY);
  if (!token) throw new Error('no launch token in the address: start the shell with npm start');
  sessionStorage.setItem(TOKEN_KEY, token);
  history.replaceState(null, '', window.location.pathname); // keep the token out of sight
  return connectBrowserTransport(window.location.origin, token);
}

async function boot(): Promise<void> {
  const store = createShellStore(localeFrom(navigator.languages));
  const root = createRoot(document.getElementById('root')!);
  let context: ShellContextValue | null = null;
  const render = () =>
    root.render(
      <StrictMode>
        {context ? (
          <ShellContext.Provider value={context}>
            <App />
          </ShellContext.Provider>
        ) : (
          <div className="shell shell--offline" data-testid="shell-offline">
            <div className="notice">
              <div className="notice__title">{store.getState().linkError ?? '…'}</div>
            </div>
          </div>
        )}
      </StrictMode>,
    );
  render();

  let api: ShellApi;
  try {
    api = await connectHost();
  } catch (err) {
    store.getState().setLink('lost', (err as Error).message);
    render();
    return;
  }
  api.onDisconnect(() => store.getState().setLink('lost'));
  api.on('onCageStatus', (state) => store.getState().setCage(state));
  api.on('onFocus', ({ level }) => store.getState().confirmFront(level));

  const switchTo = (level: string) => {
    // The band changes at once; the supervisor's confirmation moves the gateway's input gate.
    store.getState().setFront(level);
    void api.call('focus.set', { level }).then((r) => store.getState().confirmFront(r.level));
  };
  context = { store, api, switchTo };

  const view = await api.call('session.describe', {});
  store.getState().initialise({ levels: view.levels, cages: view.cages, focus: view.focus, switchShortcut: view.shortcuts.switchLevel });
  const switchToNext = () => {
    const s = store.getState();
    const next = nextLevel(s.levels, s.front);
    if (next) switchTo(next);
  };
  // Electron catches the shortcut in main before the page; the browser host catches it here.
  const preload = (window as unknown as { cloison?: PreloadApi }).cloison;
  if (preload) preload.onShortcut(() => switchToNext());
  installShortcutCapture(window, [{ chord: view.shortcuts.switchLevel, action: switchToNext }]);
  render();
}

void boot();
