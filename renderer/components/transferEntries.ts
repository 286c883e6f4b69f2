/**
 * What the transfer dialog lists of a folder the supervisor listed (issue #26): the user's own
 * files, not the cage's workings. Names starting with a dot (`.cache/`, `.config/`, the cage's
 * `.cloison-*.log`) are hidden until the user asks for them; the names themselves are the
 * supervisor's, with invisible characters already made visible, never rewritten here.
 */
export interface Entry {
  path: string;
  name: string;
  kind: string;
  size: number;
}

export function isHiddenEntry(entry: Pick<Entry, 'name'>): boolean {
  return entry.name.startsWith('.');
}

/** A path of the home with a hidden folder or file in it (`.config/app/x`, `notes/.draft`). */
export function isHiddenPath(path: string): boolean {
  return path.split('/').some((part) => part.startsWith('.'));
}

/** The entries to list, in the supervisor's order, and how many were left hidden. */
export function shownEntries<E extends Entry>(entries: readonly E[], showHidden: boolean): { entries: E[]; hidden: number } {
  if (showHidden) return { entries: [...entries], hidden: 0 };
  const shown = entries.filter((e) => !isHiddenEntry(e));
  return { entries: shown, hidden: entries.length - shown.length };
}
