/**
 * React access to the shell's store and host API (one of each per window).
 */
import { createContext, useContext } from 'react';
import { useStore } from 'zustand';
import type { EarlyViewerFrames } from './components/earlyViewerFrames';
import type { FirstTickets } from './components/firstTickets';
import type { ShellApi } from './transport/shellApi';
import type { ShellActions, ShellState, ShellStore } from './store/shellStore';

export interface ShellContextValue {
  store: ShellStore;
  api: ShellApi;
  switchTo(level: string): void;
  clipboard: { copyOut(): void; pasteIn(): void };
  /** The viewer frames made as the page started, claimed by the levels' viewers (none in Electron). */
  earlyFrames?: EarlyViewerFrames;
  /** Each running cage's first ticket, asked for as the session was described (taken once by its viewer). */
  firstTickets?: FirstTickets;
}

export const ShellContext = createContext<ShellContextValue | null>(null);

export function useShell(): ShellContextValue {
  const ctx = useContext(ShellContext);
  if (!ctx) throw new Error('ShellContext missing');
  return ctx;
}

export function useShellState<T>(selector: (s: ShellState & ShellActions) => T): T {
  return useStore(useShell().store, selector);
}
