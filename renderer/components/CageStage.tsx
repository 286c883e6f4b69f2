/**
 * The stage below the band: one frame per cage, in its level's colour, with a title strip naming
 * the level. Single view shows the cage in front; split view shows them side by side and a click
 * in a frame gives that cage the keyboard. Frames and strips are the shell's, outside each viewer's
 * clipped box, so no cage pixel can land on them (trusted path, property 1); and no notice of the
 * shell's is drawn over a cage's picture, which is the cage's to draw (a level's refusal is in its
 * strip, LevelNotice.tsx; the status card replaces a picture that is not there). In the trusted
 * overview every cage is shown, dimmed and labelled.
 *
 * A level switch changes only what it must in one commit: the two frames' classes (visibility, not
 * a new frame: the viewers stay loaded) and their title strips; the frames are memoised, and the
 * keyboard's focus stays on the stage (stageKeyboard.ts), which hands each key to the level in front.
 */
import { memo, useCallback, useEffect, useMemo, useState, type KeyboardEvent as ReactKeyboardEvent } from 'react';
import type { LevelView } from '../../shared/rpc';
import { textFor } from '../i18n';
import { useShell, useShellState } from '../shellContext';
import { inputSuspended } from '../store/shellStore';
import { CageViewer, type ViewerState } from './CageViewer';
import { LevelRefusal } from './LevelNotice';
import { createFrameFocusGuard, type FrameFocusGuard } from '../keyboard/frameFocusGuard';
import { createStageKeyboard, type StageKeyboard } from './stageKeyboard';

export type StageKeys = StageKeyboard<ReactKeyboardEvent<HTMLElement>>;

export function CageStage() {
  const { store } = useShell();
  const keyboard = useMemo(() => createStageKeyboard<ReactKeyboardEvent<HTMLElement>>(), []);
  // No viewer frame may hold the focus (frameFocusGuard.ts): taken back to this page at once.
  const [focusGuard, setFocusGuard] = useState<FrameFocusGuard | null>(null);
  useEffect(() => {
    const guard = createFrameFocusGuard(window, () => keyboard.element.current);
    setFocusGuard(guard);
    return () => guard.stop();
  }, [keyboard]);
  const levels = useShellState((s) => s.levels);
  const front = useShellState((s) => s.front);
  const layout = useShellState((s) => s.layout);
  const overview = useShellState((s) => s.overviewOpen);
  const tiled = layout === 'split' || overview;
  // The level allowed input is read from the store when the key comes, not from the last render.
  const route = (e: ReactKeyboardEvent<HTMLElement>) => {
    if (e.target !== e.currentTarget) return; // a key on a control of the stage (a retry button) is its own
    const s = store.getState();
    const level = inputSuspended(s) ? null : s.front;
    // A dialog just closed and the supervisor has not yet heard: held, sent on once it has.
    if (level !== null && s.inputReleasing) {
      if (e.key === 'Tab') e.preventDefault(); // the focus stays on the stage meanwhile
      keyboard.hold(level, e);
      return;
    }
    keyboard.route(level, e);
  };
  useEffect(
    () =>
      store.subscribe((s, before) => {
        if (before.inputReleasing && !s.inputReleasing) keyboard.flush(!inputSuspended(s));
        // A surface opened again before the supervisor heard: what was held goes to no one.
        else if (inputSuspended(s) && !inputSuspended(before)) keyboard.flush(false);
      }),
    [store, keyboard],
  );
  return (
    <main
      ref={keyboard.element}
      className={`stage${tiled ? ' stage--tiled' : ''}`}
      data-testid="stage"
      data-layout={tiled ? 'split' : 'single'}
      // Where keys go on to a cage (shortcutCapture.ts): the level in front.
      data-cage-input={front ?? ''}
      tabIndex={0}
      onKeyDown={route}
      onKeyUp={route}
      onKeyPress={route}
    >
      {levels.map((level) => (
        <CageFrame key={level.id} level={level} front={level.id === front} visible={tiled || level.id === front} dimmed={overview} keyboard={keyboard} focusGuard={focusGuard} />
      ))}
    </main>
  );
}

const CageFrame = memo(function CageFrame({ level, front, visible, dimmed, keyboard, focusGuard }: { level: LevelView; front: boolean; visible: boolean; dimmed: boolean; keyboard: StageKeys; focusGuard: FrameFocusGuard | null }) {
  const { switchTo } = useShell();
  const locale = useShellState((s) => s.locale);
  const suspended = useShellState(inputSuspended);
  const cage = useShellState((s) => s.cages[level.id]);
  const [viewer, setViewer] = useState<ViewerState>('idle');
  const [bellAt, setBellAt] = useState(0);
  const [viewerReloads, setViewerReloads] = useState(0);
  const onBell = useCallback(() => setBellAt(Date.now()), []);
  const onReconnect = useCallback(() => setViewerReloads((n) => n + 1), []);
  const t = textFor(locale);
  return (
    <section
      className={`frame${front ? ' frame--front' : ''}${visible ? '' : ' frame--hidden'}`}
      data-testid={`cage-frame-${level.id}`}
      data-front={front}
      data-viewer={viewer}
      aria-hidden={!visible}
      style={{ borderColor: level.colour }}
      // A click in a cage that does not have the keyboard gives it the keyboard first.
      onMouseDownCapture={(e) => {
        // Closing the level's notice is not a move into its cage.
        if ((e.target as Element).closest?.('.level-notice')) return;
        if (!front && visible && !dimmed) {
          e.preventDefault();
          e.stopPropagation();
          switchTo(level.id);
        }
      }}
    >
      {/* The level's strip, above its picture: its title row, and under it the level's refusal
          while there is one (the strip grows, the picture's box below shrinks; LevelNotice.tsx). */}
      <div className="frame__strip" style={{ backgroundColor: level.colour, color: level.textColour }} data-testid={`frame-strip-${level.id}`}>
        <header className="frame__title" style={{ backgroundColor: level.colour, color: level.textColour }} data-testid={`frame-title-${level.id}`}>
          <span className="frame__name">{level.label[locale]}</span>
          {/* Always there, shown by the frame's class (frame--front): a switch adds or removes no node. */}
          <span className="frame__keyboard">⌨ {t.keyboard}</span>
          {bellAt ? <span key={bellAt} className="frame__bell">♪</span> : null}
          {/* A limit the cage reached while running (memory, tasks, home): the supervisor's words. */}
          {cage?.status === 'running' && cage.detail ? (
            // The supervisor's words in the shell's language (a detail it could not translate says so in French).
            <span className="frame__notice" data-testid={`frame-notice-${level.id}`} lang={cage.detailText ? locale : 'en'}>
              ⚠ {cage.detailText ? cage.detailText[locale] : cage.detail}
            </span>
          ) : null}
        </header>
        <LevelRefusal level={level} />
      </div>
      <div className="frame__clip">
        <CageViewer level={level.id} front={front && !suspended} place={front ? 'front' : visible ? 'beside' : 'hidden'} onViewerState={setViewer} onBell={onBell} reloads={viewerReloads} keyboard={keyboard} focusGuard={focusGuard} />
        <StatusOverlay level={level} viewer={viewer} onReconnect={onReconnect} />
        {dimmed ? (
          <div className="frame__dim" data-testid={`dim-${level.id}`}>
            <span style={{ color: level.colour }}>{level.label[locale]}</span>
          </div>
        ) : null}
      </div>
    </section>
  );
});

const StatusOverlay = memo(function StatusOverlay({ level, viewer, onReconnect }: { level: LevelView; viewer: ViewerState; onReconnect(): void }) {
  const { api } = useShell();
  const cage = useShellState((s) => s.cages[level.id]);
  const locale = useShellState((s) => s.locale);
  const retryAt = useShellState((s) => s.viewerRetries[level.id]);
  const t = textFor(locale);
  const status = cage?.status ?? 'stopped';
  if (status === 'running' && viewer === 'connected') return null;
  let title: string;
  if (status === 'starting') title = t.cageStarting;
  else if (status === 'crashed') title = t.cageCrashed;
  else if (status === 'stopped') title = t.cageStopped;
  else title = viewer === 'stopped' ? t.viewerStopped : viewer === 'unreachable' ? t.cageUnreachable : viewer === 'unreachable-retrying' ? t.cageUnreachableRetrying(Math.ceil(Math.max(0, (retryAt ?? 0) - Date.now()) / 1000)) : viewer === 'grabbed' ? t.viewerTookFocus : viewer === 'withheld' ? t.viewerWithheld : viewer === 'retrying' ? t.viewerRetrying(Math.ceil(Math.max(0, (retryAt ?? 0) - Date.now()) / 1000)) : viewer === 'silent' ? t.viewerSilent : viewer === 'silent-retrying' ? t.viewerSilentRetrying(Math.ceil(Math.max(0, (retryAt ?? 0) - Date.now()) / 1000)) : t.cageStarting;
  const canRetry = status === 'crashed' || status === 'stopped' || viewer === 'unreachable' || viewer === 'unreachable-retrying';
  // The viewer's own renderer stopped (the cage may be fine), or it took the keyboard focus: its
  // frame is loaded again, now if asked.
  const canReconnect = status === 'running' && (viewer === 'stopped' || viewer === 'withheld' || viewer === 'retrying' || viewer === 'silent' || viewer === 'silent-retrying' || viewer === 'unreachable-retrying');
  return (
    <div className="overlay" data-testid={`overlay-${level.id}`} data-status={status}>
      <div className="overlay__card" style={{ borderColor: level.colour }}>
        <div className="overlay__level" style={{ color: level.colour }}>
          {t.cage} {level.label[locale]}
        </div>
        <div className="overlay__title">{title}</div>
        {cage?.detail && status !== 'running' ? (
          <pre className="overlay__detail" lang={cage.detailText ? locale : 'en'}>
            {cage.detailText ? cage.detailText[locale] : cage.detail}
          </pre>
        ) : null}
        {canReconnect ? (
          <button type="button" className="overlay__retry" data-testid={`reconnect-${level.id}`} onClick={onReconnect}>
            {t.reconnectViewer}
          </button>
        ) : null}
        {canRetry ? (
          <button type="button" className="overlay__retry" data-testid={`retry-${level.id}`} onClick={() => void api.call('cage.restart', { level: level.id })}>
            {t.retry}
          </button>
        ) : null}
      </div>
    </div>
  );
});
