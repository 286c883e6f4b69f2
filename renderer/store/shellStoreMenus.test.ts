/**
 * The band's menus (issue #26): one at a time, the trusted menu replaces them, and while any is
 * open no cage has input.
 */
import { describe, expect, it } from 'vitest';
import { createShellStore, inputSuspended } from './shellStore';

describe('shell store: the band menus', () => {
  it('opens one band menu at a time, and the trusted menu closes them', () => {
    const store = createShellStore('fr');
    store.getState().setTrayOpen(true);
    expect(inputSuspended(store.getState())).toBe(true);
    store.getState().setAppsOpen(true);
    expect({ tray: store.getState().trayOpen, apps: store.getState().appsOpen }).toEqual({ tray: false, apps: true });
    store.getState().setTrayOpen(true);
    expect({ tray: store.getState().trayOpen, apps: store.getState().appsOpen }).toEqual({ tray: true, apps: false });
    store.getState().openOverview();
    expect({ tray: store.getState().trayOpen, apps: store.getState().appsOpen, overview: store.getState().overviewOpen }).toEqual({ tray: false, apps: false, overview: true });
    store.getState().closeOverview();
    expect(inputSuspended(store.getState())).toBe(false);
  });
});
