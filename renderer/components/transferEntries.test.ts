/** The transfer dialog's listing (issue #26): the user's files first, the cage's dot files hidden until asked for. */
import { describe, expect, it } from 'vitest';
import { isHiddenPath, shownEntries } from './transferEntries';

const home = [
  { path: '.cache', name: '.cache', kind: 'dir', size: 0 },
  { path: '.cloison-session.log', name: '.cloison-session.log', kind: 'file', size: 120 },
  { path: 'Documents', name: 'Documents', kind: 'dir', size: 0 },
  { path: 'rapport.pdf', name: 'rapport.pdf', kind: 'file', size: 28 },
  // Made visible by the supervisor: a name that only looked like a dot file is not one.
  { path: '\u200b.x', name: '⟨U+200B⟩.x', kind: 'file', size: 1 },
];

describe('transfer listing', () => {
  it('hides names starting with a dot by default, keeps the supervisor’s order and names, counts what it hid', () => {
    const shown = shownEntries(home, false);
    expect(shown.entries.map((e) => e.name)).toEqual(['Documents', 'rapport.pdf', '⟨U+200B⟩.x']);
    expect(shown.hidden).toBe(2);
  });

  it('shows them all when asked', () => {
    const shown = shownEntries(home, true);
    expect(shown.entries).toEqual(home);
    expect(shown.hidden).toBe(0);
  });

  it('knows a path inside a hidden folder', () => {
    expect(['.config/app/x', 'notes/.draft', 'notes/a.txt', 'a.b'].map(isHiddenPath)).toEqual([true, true, false, false]);
  });
});
