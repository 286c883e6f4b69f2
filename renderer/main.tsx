/**
 * Renderer entry: picks the host transport (Electron preload or browser host), loads the policy
 * view from the supervisor, wires supervisor events into the store and installs the shortcuts.
 */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { sakKey } from '../shared/keysyms';
import type { PreloadApi } from '../shared/preloadApi';
import { App } from './components/App';
import { markOnce, startEarlyViewerFrames } from './components/earlyViewerFrames';
import { askFirstTickets, NO_FIRST_TICKETS } from './components/firstTickets';
import { installShortcutCapture } from './keyboard/shortcutCapture';
import { installKioskGuard, kioskRequested } from './keyboard/kioskGuard';
import { ShellContext, type ShellContextValue } from './shellContext';
import { createShellStore, inputSuspended, nextLevel } from './store/shellStore';
import { connectBrowserTransport, launchSecretFromLocation } from './transport/browserTransport';
import { connectElectronTransport } from './transport/electronTransport';
import type { ShellApi } from './transport/shellApi';
import { reloadWhenBack } from './transport/reloadWhenBack';
import { clipboardActions } from './clipboardActions';
import { reportActivity } from './session/activityReporter';
import './styles.css';
import { followCageStatuses } from './store/cageStatusFollow';

/** This tab's single-use resume token: what a reload presents to be the same shell again. */
const RESUME_KEY = 'cloison.resume';

async function connectHost(): Promise<ShellApi> {
  const preload = (window as unknown as { cloison?: PreloadApi }).cloison;
  if (preload) return connectElectronTransport(preload);
  const launch = launchSecretFromLocation(window.location);
  const resume = sessionStorage.getItem(RESUME_KEY);
  history.replaceState(null, '', window.location.pathname); // the secret is spent: keep it out of sight
  const credential = launch ? { launch } : resume ? { resume } : null;
  if (!credential) throw new Error('no launch secret in the address: start the shell with npm start (each address opens one shell, once)');
  sessionStorage.removeItem(RESUME_KEY);
  return connectBrowserTransport(window.location.origin, credential, (next) => sessionStorage.setItem(RESUME_KEY, next));
}

const KIOSK_KEY = 'cloison.kiosk';

/** Kiosk mode, asked for in the address fragment, kept for the tab's life (a reload stays a kiosk). */
function installKioskIfAsked(): void {
  if (kioskRequested(window.location.hash)) sessionStorage.setItem(KIOSK_KEY, '1');
  if (sessionStorage.getItem(KIOSK_KEY) !== '1') return;
  installKioskGuard(window);
  document.documentElement.dataset.kiosk = '1';
}

async function boot(): Promise<void> {
  markOnce('cloison:boot');
  // The viewer frames start loading now, beside the RPC link's opening, for no level yet: each
  // level's viewer claims its own once the supervisor has said which origin is whose.
  const earlyFrames = startEarlyViewerFrames(window);
  installKioskIfAsked();
  // No browser menu over the trusted page, kiosk or not: it is Chromium's UI over the band
  // (and it offers "Translate to…"). The shell has no menu of its own to replace it.
  window.addEventListener('contextmenu', (e) => e.preventDefault(), { capture: true });
  // French until the supervisor says otherwise (policy, else the host's locale): never the browser's.
  const store = createShellStore('fr');
  // The page declares the language it shows (a mismatch is what invites a browser to offer translation).
  // Only when it changes: the store changes at every switch, and the root's lang is the whole page's style.
  const declareLanguage = () => {
    const { locale } = store.getState();
    if (document.documentElement.lang !== locale) document.documentElement.lang = locale;
  };
  declareLanguage();
  store.subscribe(declareLanguage);
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
    earlyFrames.dropUnclaimed();
    render();
    return;
  }
  markOnce('cloison:linked');
  api.onDisconnect((code) => {
    store.getState().setLink('lost');
    reloadWhenBack(code);
  });
  // Statuses sent while the session is described are kept and applied over it (cageStatusFollow.ts).
  const cageStatuses = followCageStatuses(api, (state) => store.getState().setCage(state));
  api.on('onFocus', ({ level }) => store.getState().confirmFront(level));
  // Heard from now on; the stop under way before this page came is in the session's description
  // (applied below only if no onStopping came first: each one is the whole state, and newer).
  api.on('onStopping', (stopping) => store.getState().setStopping(stopping));

  const switchTo = (level: string) => {
    // The band changes at once; the supervisor's confirmation moves the gateway's input gate.
    store.getState().setFront(level);
    void api.call('focus.set', { level }).then((r) => store.getState().confirmFront(r.level));
  };
  const broker = clipboardActions(api, store);
  context = { store, api, switchTo, clipboard: broker, earlyFrames };

  const described = api.call('session.describe', {}).then((v) => {
    cageStatuses.described();
    return v;
  });
  const [view, trust, clipboard, devices] = await Promise.all([described, api.call('trust.get', {}), api.call('clipboard.state', {}), api.call('devices.list', {})]);
  markOnce('cloison:described');
  // Before the window is drawn: the early frames may be ready by the time their viewers mount.
  context.firstTickets = view.lock.locked ? NO_FIRST_TICKETS : askFirstTickets(api, view.cages);
  store.getState().setLocale(view.locale);
  store.getState().initialise({
    levels: view.levels,
    cages: view.cages,
    focus: view.focus,
    switchShortcut: view.shortcuts.switchLevel,
    copyOutShortcut: view.shortcuts.copyOut,
    pasteInShortcut: view.shortcuts.pasteIn,
    secureAttentionKey: view.shortcuts.secureAttention,
    trust: trust.phrase ? { phrase: trust.phrase, symbol: trust.symbol } : null,
    lock: view.lock,
  });
  cageStatuses.initialised();
  store.getState().setKeyboardLayout(view.keyboard);
  store.getState().setHeldClipboard(clipboard.held);
  store.getState().setDevices(devices.devices);
  store.getState().setViewers(view.session, view.viewers);
  api.on('onViewers', ({ viewers }) => store.getState().setViewers(view.session, viewers));
  api.on('onDevices', ({ devices: list }) => store.getState().setDevices(list));
  api.on('onLevels', ({ levels }) => store.getState().setLevels(levels));
  api.on('onClipboard', ({ held }) => store.getState().setHeldClipboard(held));
  api.on('onConfirmRequest', (request) => store.getState().askConfirmation(request));
  api.on('onConfirmSettled', ({ id }) => store.getState().settleConfirmation(id));
  api.on('onLock', (lock) => store.getState().setLock(lock));
  for (const tunnel of view.tunnels) store.getState().setTunnel(tunnel);
  api.on('onTunnel', (tunnel) => store.getState().setTunnel(tunnel));
  if (view.stopping && !store.getState().stopping) store.getState().setStopping(view.stopping);
  store.getState().setAudio(view.audio);
  store.getState().setTraining(view.training);
  api.on('onTraining', (training) => store.getState().setTraining(training));
  api.on('onFlow', (item) => store.getState().addFlow(item));
  api.on('onAudio', (audio) => store.getState().setAudio(audio));
  store.getState().setSmartcard(view.smartcard ?? null);
  api.on('onSmartcard', (card) => store.getState().setSmartcard(card));
  // The supervisor's idle clock: someone is at the shell (it decides when to lock, not the page).
  reportActivity(window, () => {
    if (!store.getState().lock?.locked) void api.call('session.activity', {}).catch(() => undefined);
  });
  const lockNow = () => void api.call('session.lock', {}).then((lock) => store.getState().setLock(lock), () => undefined);
  const switchToNext = () => {
    const s = store.getState();
    if (inputSuspended(s)) return; // the trusted surface has the keyboard
    const next = nextLevel(s.levels, s.front);
    if (next) switchTo(next);
  };
  // The secure-attention key always brings up trusted UI: on the lock screen, the unlock prompt;
  // otherwise the overview (unless the phrase is being chosen).
  const secureAttention = () => {
    const s = store.getState();
    if (s.lock?.locked) s.openUnlockPrompt();
    else if (s.trustDialog === null) s.openOverview();
  };
  // Electron catches both keys in main before the page; the browser host catches them here.
  const preload = (window as unknown as { cloison?: PreloadApi }).cloison;
  const byName = { secureAttention, switchLevel: switchToNext, copyOut: broker.copyOut, pasteIn: broker.pasteIn, lock: lockNow };
  preload?.onShortcut((name) => byName[name]());
  // Tell the supervisor whenever a trusted surface takes or gives back the keyboard: the gateway
  // then refuses input to every cage, whatever the viewers send.
  let suspendedNow = inputSuspended(store.getState());
  // (While locked the supervisor refuses the call: the lock itself holds every cage's input.)
  // Giving it back, the keys typed until the supervisor has heard are held by the stage (a key
  // reaching the gateway before the call would be dropped there: the first letters typed after
  // Escape closed a dialog were lost), then sent on; a surface opened again meanwhile drops them.
  let told = 0;
  const tellSuspended = (suspended: boolean) => {
    const call = ++told;
    if (!suspended) store.getState().setInputReleasing(true);
    void api
      .call('input.suspend', { suspended })
      .catch(() => undefined)
      .finally(() => {
        if (!suspended && call === told) store.getState().setInputReleasing(false);
      });
  };
  tellSuspended(suspendedNow);
  store.subscribe((s) => {
    const next = inputSuspended(s);
    if (next === suspendedNow) return;
    suspendedNow = next;
    tellSuspended(next);
  });
  installShortcutCapture(window, {
    bindings: [
      { chord: view.shortcuts.switchLevel, action: switchToNext },
      { chord: view.shortcuts.copyOut, action: () => !inputSuspended(store.getState()) && broker.copyOut() },
      { chord: view.shortcuts.pasteIn, action: () => !inputSuspended(store.getState()) && broker.pasteIn() },
      { chord: view.shortcuts.lock, action: lockNow },
      // By key and by physical key: Ctrl+Pause arrives as key "Cancel", code "Pause".
      { chord: view.shortcuts.secureAttention, action: secureAttention, anyModifiers: true, alsoKeys: sakKey(view.shortcuts.secureAttention).keys, alsoCodes: sakKey(view.shortcuts.secureAttention).codes },
    ],
    suspended: () => inputSuspended(store.getState()),
  });
  render();
}

void boot();
