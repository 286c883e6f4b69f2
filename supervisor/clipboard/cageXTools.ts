/**
 * The X tools the supervisor runs on a level's cage's own X server — its selections (clipboard),
 * its screen size and desktop colour (screen), its keyboard layout (keyboard) — named by level, so
 * the subsystems need not know who runs them: the root supervisor in its X helper sandbox
 * (xSelection.ts, xScreen.ts, cageKeymap.ts: the cage's X socket folder is root's), or the `cloison` part,
 * which cannot reach that folder, through the cage manager's `xhelper.run`
 * (cageManager/remoteXTools.ts).
 *
 * A level's X server is reachable when its cage is a bwrap one (an external `vnc` cage has none the
 * supervisor may set) and runs; the tools refuse any other with the clipboard's words.
 */
import { bilingual } from '../../shared/bilingual';
import { CloisonError } from '../../shared/errors';
import type { KeyboardLayoutView } from '../../shared/keyboardLayout';
import { BwrapDriver } from '../cages/bwrapDriver';
import type { CageDriver } from '../cages/cageDriver';
import { readSelection, writeSelection, type ReadResult, type SelectionServer, type XSelectionName } from './xSelection';

export type KeymapLayout = Pick<KeyboardLayoutView, 'layout' | 'variant'>;
/** A screen size in pixels (screen/xScreen.ts's ScreenSize). */
type Size = { width: number; height: number };

export interface CageXTools {
  /** Why the tools below cannot reach the level's X server now (CAGE_UNAVAILABLE); null when its bwrap cage runs. */
  unreachable(level: string): CloisonError | null;
  /** Reads a selection as UTF-8 text, never holding more than `maxBytes + 1` bytes of it. */
  readSelection(level: string, maxBytes: number, selection: XSelectionName): Promise<ReadResult>;
  /** Serves `text` as the selection until an app of the cage takes it (`owned` false then) or `stop()`. */
  serveSelection(level: string, text: string, selection: XSelectionName): Promise<SelectionServer>;
  setScreenSize(level: string, size: Size): Promise<void>;
  setDesktopColour(level: string, colour: string): Promise<void>;
  setKeymap(level: string, layout: KeymapLayout): Promise<void>;
  queryKeymap(level: string): Promise<{ layout: string; variant: string }>;
}

/** What the clipboard needs of them. */
export type CageSelectionTools = Pick<CageXTools, 'unreachable' | 'readSelection' | 'serveSelection'>;

/** Why a level's X server is not one the supervisor may reach now (CAGE_UNAVAILABLE), or null. */
export function unreachableCage(level: string, isBwrap: boolean, isRunning: boolean): CloisonError | null {
  if (!isBwrap) return new CloisonError('CAGE_UNAVAILABLE', bilingual(`la cage « ${level} » est un serveur VNC externe : elle n’a pas de presse-papiers contrôlé`, `cage "${level}" is an external VNC endpoint: it has no brokered clipboard`));
  if (!isRunning) return new CloisonError('CAGE_UNAVAILABLE', bilingual(`la cage « ${level} » n’est pas en service`, `cage "${level}" is not running`));
  return null;
}

/**
 * The root supervisor's own selection tools: its X helper sandbox on the cage's X socket folder (its
 * driver's). Its own screen and keymap tools are the default of CageScreens (screen/xScreen.ts) and
 * of keepCageKeymaps (keyboard/cageKeymap.ts), in the rooms above this one.
 */
export function localCageSelections(driverOf: (level: string) => CageDriver | undefined, isRunning: (level: string) => boolean): CageSelectionTools {
  const x11DirOf = (level: string): string => {
    const driver = driverOf(level);
    const why = unreachableCage(level, driver instanceof BwrapDriver, isRunning(level));
    if (why) throw why;
    return (driver as BwrapDriver).x11Dir;
  };
  return {
    unreachable: (level) => unreachableCage(level, driverOf(level) instanceof BwrapDriver, isRunning(level)),
    readSelection: async (level, maxBytes, selection) => readSelection(x11DirOf(level), maxBytes, undefined, selection),
    serveSelection: async (level, text, selection) => writeSelection(x11DirOf(level), text, selection),
  };
}
