import { describe, expect, it } from 'vitest';
import { loadDefaultPolicy } from '../../supervisor/policy/policyLoader';
import { DEFAULT_APPS, windowsOf } from './defaultApps';

describe("apps-memory's default applications", () => {
  it('are the default policy\'s, level by level, in its order, autostarted as it says', () => {
    const fromPolicy = loadDefaultPolicy().levels.flatMap((level) => (level.cage.driver === 'bwrap' ? level.cage.apps : []).map((app) => ({ level: level.id, id: app.id, autostart: app.autostart })));
    expect(DEFAULT_APPS.map(({ level, id, autostart }) => ({ level, id, autostart }))).toEqual(fromPolicy.map(({ level, id, autostart }) => ({ level, id, autostart })));
    // The reading needs more than the autostarted two.
    expect(DEFAULT_APPS.filter((a) => !a.autostart).length).toBeGreaterThan(0);
  });

  it('wait for every window of a level in that level, none elsewhere', () => {
    const windows = windowsOf(DEFAULT_APPS);
    expect(windows.low).toHaveLength(5);
    expect(windows.high).toHaveLength(6);
    expect(windows.high).toContainEqual({ class: 'libreoffice-calc' });
    expect(windows.low).not.toContainEqual({ class: 'libreoffice-writer' });
  });
});
