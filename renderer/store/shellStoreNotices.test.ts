/**
 * Notices, one per level (issue #26): an outcome about one level never replaces nor closes one
 * about another, nor the shell's own; each keeps the level it was set for.
 */
import { describe, expect, it } from 'vitest';
import { createShellStore, SHELL_NOTICE } from './shellStore';

describe('shell store notices', () => {
  it('keeps one notice per level and one for the shell, each closed on its own', () => {
    const store = createShellStore('fr');
    store.getState().setNotice('Rien à copier dans Bas', 'refused', 'low');
    store.getState().setNotice('Rien à copier dans Haut', 'refused', 'high');
    store.getState().setNotice('Signalement non envoyé', 'refused', null);
    // A flood about low (a stalling cage) replaces only low's.
    for (let i = 0; i < 50; i++) store.getState().setNotice(`low ${i}`, 'refused', 'low');
    const { notices } = store.getState();
    expect(Object.keys(notices).sort()).toEqual([SHELL_NOTICE, 'high', 'low'].sort());
    expect(notices.low).toMatchObject({ text: 'low 49', level: 'low', tone: 'refused' });
    expect(notices.high).toMatchObject({ text: 'Rien à copier dans Haut', level: 'high' });
    expect(notices[SHELL_NOTICE]).toMatchObject({ level: null });
    store.getState().dismissNotice('low');
    expect(store.getState().notices.low).toBeUndefined();
    expect(store.getState().notices.high).toBeDefined();
    store.getState().dismissNotice(null);
    expect(Object.keys(store.getState().notices)).toEqual(['high']);
  });

  it('the stop, heard by a shell that came during it, counts from the stop\'s start (elapsedMs); later views keep that start', () => {
    const store = createShellStore('fr');
    const before = Date.now();
    store.getState().setStopping({ seconds: 25, closing: ['high'], elapsedMs: 7_000 });
    const since = store.getState().stopping!.since;
    expect(since).toBeLessThanOrEqual(Date.now() - 7_000);
    expect(since).toBeGreaterThanOrEqual(before - 7_000);
    store.getState().setStopping({ seconds: 25, closing: [] });
    expect(store.getState().stopping).toMatchObject({ closing: [], since });
  });
});
