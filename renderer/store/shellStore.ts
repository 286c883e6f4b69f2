/**
 * The shell's state: the levels (from the policy, via the supervisor), each cage's status, which
 * level is in front, and the link to the supervisor. Supervisor events enter only through
 * `applyEvent`; user actions through `requestFront`.
 *
 * Trust rule: level names and colours come from `levels`, filled from the supervisor's policy
 * view; nothing a cage sends is ever stored here (trusted path, property 2).
 */
import { createStore } from 'zustand/vanilla';
import type { AudioView, SmartcardView, CageState, ConfirmRequest, DeviceView, FlowItem, HeldClipboard, LevelView, LockView, StoppingView, TunnelView } from '../../shared/rpc';
import type { TrainingView } from '../../shared/trainingScenario';
import type { KeyboardLayoutView } from '../../shared/keyboardLayout';

export type LinkState = 'connecting' | 'connected' | 'lost';
export type Layout = 'single' | 'split';

/** An outcome shown to the user: about one level (`level`), or the shell's own (null). */
export interface Notice {
  text: string;
  tone: 'ok' | 'refused';
  at: number;
  level: string | null;
}
/** The notices' key for the shell's own (no level id is empty: the policy's ids are names). */
export const SHELL_NOTICE = '';
export interface TrustMark {
  phrase: string;
  symbol: string | null;
}
export type Locale = 'fr' | 'en';

export interface ShellState {
  link: LinkState;
  linkError: string | null;
  locale: Locale;
  levels: LevelView[];
  cages: Record<string, CageState>;
  /** Level the shell shows in front (changes at once on a user action). */
  front: string | null;
  /** Level the supervisor confirmed in front (the gateway enforces this one). */
  confirmedFront: string | null;
  switchShortcut: string;
  secureAttentionKey: string;
  /** The user's trust phrase, shown in every trusted surface; null until chosen. */
  trust: TrustMark | null;
  layout: Layout;
  /** The trusted overview, opened by the secure-attention key. */
  overviewOpen: boolean;
  /** The trust phrase dialog: on first start, or when changed from the overview. */
  trustDialog: 'first' | 'change' | null;
  copyOutShortcut: string;
  pasteInShortcut: string;
  /** What the supervisor's brokered clipboard holds (metadata only). */
  heldClipboard: HeldClipboard | null;
  /** A question from the supervisor awaiting the user's answer in the trusted dialog. */
  confirmation: ConfirmRequest | null;
  /** The trusted file transfer dialog, with the level files are picked from. */
  transferFrom: string | null;
  /** USB storage devices the supervisor knows (sanitised views). */
  devices: DeviceView[];
  /** A device the user chose to attach from the tray (the dialog opens for it). */
  assigningDevice: string | null;
  trayOpen: boolean;
  /** The trusted application launcher is open. */
  appsOpen: boolean;
  /**
   * The last outcome of a user action, one per level it is about (key: the level's id) and one for
   * the shell's own (key SHELL_NOTICE): a success shown briefly in the band, a refusal until closed,
   * drawn over its level's own frame (LevelNotice.tsx). One slot per level: an outcome about one
   * level never replaces or hides one about another.
   */
  notices: Record<string, Notice>;
  /** This shell's session, and the levels with a viewer some other session opened. */
  session: string | null;
  foreignViewers: string[];
  /** The workstation's lock, as the supervisor decides it. */
  lock: LockView | null;
  /** The unlock prompt, opened on the lock screen by the secure-attention key only. */
  unlockPrompt: boolean;
  /** Levels on a WireGuard network: their tunnel as the supervisor measures it. */
  tunnels: Record<string, TunnelView>;
  /** Cloison is stopping (the supervisor said so: onStopping, or the session's description), with when the stop began by this shell's clock; null: it is not. */
  stopping: (StoppingView & { since: number }) | null;
  /** Who plays, who is muted, who has the microphone (the supervisor's measure and decisions). */
  audio: AudioView | null;
  /** The smart card: which level has it (exclusive), null when the policy gives it to none. */
  smartcard: SmartcardView | null;
  /** A training session: the band is marked, the panel shows the card and the flows. */
  training: TrainingView | null;
  /** The latest crossings and decisions, newest first (the trainer's flow view). */
  flows: FlowItem[];
  /** The report-an-anomaly dialog. */
  reportOpen: boolean;
  /** The keyboard layout the cages are given (the policy's, else the host's): the band shows it. */
  keyboardLayout: KeyboardLayoutView | null;
  /** Levels whose viewer stopped again and again: when its next frame is made (viewerRetry.ts). */
  viewerRetries: Record<string, number>;
  /**
   * A trusted surface gave the keyboard back and the supervisor has not yet said it heard so
   * (input.suspend): its gateway would drop a key sent now. The stage holds the keys typed
   * meanwhile and hands them on, in order, once it has (stageKeyboard.ts).
   */
  inputReleasing: boolean;
}

export interface ShellActions {
  initialise(view: {
    levels: LevelView[];
    cages: CageState[];
    focus: string;
    switchShortcut: string;
    copyOutShortcut: string;
    pasteInShortcut: string;
    secureAttentionKey: string;
    trust: TrustMark | null;
    lock: LockView;
  }): void;
  setCage(state: CageState): void;
  /** New names or colours from a policy reload (the set of levels itself does not change live). */
  setLevels(levels: LevelView[]): void;
  setFront(level: string): void;
  confirmFront(level: string): void;
  setLink(link: LinkState, error?: string): void;
  setTrust(trust: TrustMark): void;
  setLayout(layout: Layout): void;
  openOverview(): void;
  closeOverview(): void;
  openTrustDialog(kind: 'first' | 'change'): void;
  closeTrustDialog(): void;
  setHeldClipboard(held: HeldClipboard | null): void;
  askConfirmation(request: ConfirmRequest): void;
  settleConfirmation(id: string): void;
  /** `level`: the level the outcome is about (the one the action was for), null for the shell's own. */
  setNotice(text: string, tone: 'ok' | 'refused', level: string | null): void;
  /** A refusal stays until the user closes it. */
  dismissNotice(level: string | null): void;
  /** The language the supervisor says the shell speaks (policy, else the host's locale). */
  setLocale(locale: Locale): void;
  openTransfer(from: string): void;
  closeTransfer(): void;
  setDevices(devices: DeviceView[]): void;
  /** Every viewer the supervisor has: those of other sessions are shown in the band. */
  setViewers(session: string, viewers: Array<{ level: string; session: string }>): void;
  openAssign(id: string): void;
  closeAssign(): void;
  setTrayOpen(open: boolean): void;
  setAppsOpen(open: boolean): void;
  /** A lock closes every trusted surface that showed something of the session. */
  setLock(lock: LockView): void;
  openUnlockPrompt(): void;
  closeUnlockPrompt(): void;
  setTunnel(view: TunnelView): void;
  setStopping(view: StoppingView): void;
  setAudio(view: AudioView): void;
  setSmartcard(view: SmartcardView | null): void;
  setTraining(view: TrainingView | null): void;
  addFlow(item: FlowItem): void;
  openReport(): void;
  closeReport(): void;
  setKeyboardLayout(view: KeyboardLayoutView): void;
  /** A level's viewer waits before its next frame (`at`: when), or no longer (null). */
  setViewerRetry(level: string, at: number | null): void;
  setInputReleasing(releasing: boolean): void;
}

export type ShellStore = ReturnType<typeof createShellStore>;

export function createShellStore(locale: Locale) {
  return createStore<ShellState & ShellActions>()((set, get) => ({
    link: 'connecting',
    linkError: null,
    locale,
    levels: [],
    cages: {},
    front: null,
    confirmedFront: null,
    switchShortcut: '',
    secureAttentionKey: '',
    trust: null,
    layout: 'single',
    overviewOpen: false,
    trustDialog: null,
    copyOutShortcut: '',
    pasteInShortcut: '',
    heldClipboard: null,
    confirmation: null,
    notices: {},
    transferFrom: null,
    devices: [],
    session: null,
    foreignViewers: [],
    assigningDevice: null,
    trayOpen: false,
    appsOpen: false,
    lock: null,
    unlockPrompt: false,
    tunnels: {},
    stopping: null,
    viewerRetries: {},
    audio: null,
    smartcard: null,
    training: null,
    flows: [],
    reportOpen: false,
    inputReleasing: false,
    setInputReleasing: (inputReleasing) => set({ inputReleasing }),
    keyboardLayout: null,
    setKeyboardLayout: (keyboardLayout) => set({ keyboardLayout }),
    initialise: ({ levels, cages, focus, switchShortcut, copyOutShortcut, pasteInShortcut, secureAttentionKey, trust, lock }) =>
      set({
        lock,
        copyOutShortcut,
        pasteInShortcut,
        secureAttentionKey,
        trust,
        trustDialog: trust ? null : 'first',
        levels: [...levels].sort((a, b) => a.rank - b.rank),
        cages: Object.fromEntries(cages.map((c) => [c.level, c])),
        front: focus,
        confirmedFront: focus,
        switchShortcut,
        link: 'connected',
      }),
    setLevels: (levels) =>
      set((s) => (levels.length === s.levels.length && levels.every((l) => s.levels.some((o) => o.id === l.id)) ? { levels: [...levels].sort((a, b) => a.rank - b.rank) } : {})),
    // A status for a level the policy does not define is ignored: such a cage is never shown.
    setCage: (state) => {
      if (!get().levels.some((l) => l.id === state.level)) return;
      set((s) => ({ cages: { ...s.cages, [state.level]: state } }));
    },
    setFront: (level) => {
      if (get().levels.some((l) => l.id === level)) set({ front: level });
    },
    confirmFront: (level) => set({ confirmedFront: level }),
    setLink: (link, error) => set({ link, linkError: error ?? null }),
    setTrust: (trust) => set({ trust }),
    setLayout: (layout) => set({ layout }),
    // The trusted menu replaces a band menu left open (never one drawn over the other).
    openOverview: () => set({ overviewOpen: true, trayOpen: false, appsOpen: false }),
    closeOverview: () => set({ overviewOpen: false }),
    openTrustDialog: (kind) => set({ trustDialog: kind, overviewOpen: false }),
    // The first phrase cannot be skipped: the dialog stays until one is set.
    closeTrustDialog: () => set((s) => (s.trust ? { trustDialog: null } : {})),
    setHeldClipboard: (heldClipboard) => set({ heldClipboard }),
    // A question for a level the policy does not define is never shown.
    askConfirmation: (request) => {
      const known = (id: string | null) => id === null || get().levels.some((l) => l.id === id);
      const levels = request.kind === 'device' || request.kind === 'pin' ? [request.level] : [request.from, request.to];
      if (levels.every(known)) set({ confirmation: request, overviewOpen: false, trayOpen: false });
    },
    settleConfirmation: (id) => set((s) => (s.confirmation?.id === id ? { confirmation: null } : {})),
    setNotice: (text, tone, level) => set((s) => ({ notices: { ...s.notices, [level ?? SHELL_NOTICE]: { text, tone, at: Date.now(), level } } })),
    dismissNotice: (level) =>
      set((s) => {
        const { [level ?? SHELL_NOTICE]: _gone, ...rest } = s.notices;
        return { notices: rest };
      }),
    setLocale: (locale) => set({ locale }),
    openTransfer: (from) => set({ transferFrom: from, overviewOpen: false }),
    closeTransfer: () => set({ transferFrom: null }),
    setDevices: (devices) => set((s) => ({ devices, assigningDevice: devices.some((d) => d.id === s.assigningDevice) ? s.assigningDevice : null })),
    setViewers: (session, viewers) => set({ session, foreignViewers: [...new Set(viewers.filter((v) => v.session !== session).map((v) => v.level))].sort() }),
    openAssign: (id) => set({ assigningDevice: id, trayOpen: false, overviewOpen: false }),
    closeAssign: () => set({ assigningDevice: null }),
    // One of the band's menus at a time: opening one closes the other.
    setTrayOpen: (trayOpen) => set(trayOpen ? { trayOpen, appsOpen: false } : { trayOpen }),
    setAppsOpen: (appsOpen) => set(appsOpen ? { appsOpen, trayOpen: false } : { appsOpen }),
    setLock: (lock) =>
      set((s) =>
        lock.locked
          ? { lock, unlockPrompt: s.lock?.locked ? s.unlockPrompt : false, overviewOpen: false, transferFrom: null, trayOpen: false, appsOpen: false, assigningDevice: null, trustDialog: s.trustDialog === 'first' ? 'first' : null }
          : { lock, unlockPrompt: false },
      ),
    openUnlockPrompt: () => set((s) => (s.lock?.locked ? { unlockPrompt: true } : {})),
    closeUnlockPrompt: () => set({ unlockPrompt: false }),
    setAudio: (audio) => set({ audio }),
    setSmartcard: (smartcard) => set({ smartcard }),
    setTraining: (training) => set({ training }),
    addFlow: (item) => set((s) => ({ flows: [item, ...s.flows.filter((f) => f.seq !== item.seq)].slice(0, 30) })),
    openReport: () => set({ reportOpen: true, overviewOpen: false }),
    closeReport: () => set({ reportOpen: false }),
    setViewerRetry: (level, at) =>
      set((s) => {
        const { [level]: _was, ...others } = s.viewerRetries;
        return { viewerRetries: at === null ? others : { ...others, [level]: at } };
      }),
    // A shell that came during the stop counts from the stop's start (elapsedMs), not from its own.
    setStopping: (view) => set((s) => ({ stopping: { ...view, since: s.stopping?.since ?? Date.now() - (view.elapsedMs ?? 0) } })),
    setTunnel: (view) => set((s) => (s.levels.some((l) => l.id === view.level) ? { tunnels: { ...s.tunnels, [view.level]: view } } : {})),
  }));
}

/** True while a trusted surface (overview, dialog) has the keyboard: no cage gets input. */
export function inputSuspended(s: ShellState): boolean {
  return s.lock?.locked === true || s.reportOpen || s.overviewOpen || s.trustDialog !== null || s.confirmation !== null || s.transferFrom !== null || s.trayOpen || s.appsOpen || deviceToAssign(s) !== null;
}

/**
 * The device the trusted assignment dialog is for: the one the user picked in the tray, else the
 * first one waiting for a decision. Other dialogs (trust phrase, crossings) go first.
 */
export function deviceToAssign(s: ShellState): DeviceView | null {
  if (s.trustDialog !== null || s.confirmation !== null) return null;
  const picked = s.devices.find((d) => d.id === s.assigningDevice && (d.state === 'waiting' || d.state === 'detached'));
  return picked ?? s.devices.find((d) => d.state === 'waiting') ?? null;
}

/** The level after `current` in rank order, wrapping round. */
export function nextLevel(levels: LevelView[], current: string | null): string | null {
  if (levels.length === 0) return null;
  const i = levels.findIndex((l) => l.id === current);
  return (levels[(i + 1) % levels.length] ?? levels[0])!.id;
}

export function levelById(levels: LevelView[], id: string | null): LevelView | undefined {
  return levels.find((l) => l.id === id);
}
