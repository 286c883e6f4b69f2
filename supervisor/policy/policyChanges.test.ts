/**
 * What a reload restarts: a cage only when what it was started from changed. Editing a level's
 * applications (the launcher's menu) or its largest auto screen must not cost the user a window,
 * and a new keyboard layout must reach the running cages rather than be dropped as "no difference".
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY_YAML } from './defaultPolicy';
import { parsePolicy } from './policyLoader';
import { describeChanges, policyChanges } from './policyChanges';

const running = parsePolicy(DEFAULT_POLICY_YAML, 'running.yaml');
const edited = (edit: (yaml: string) => string) => parsePolicy(edit(DEFAULT_POLICY_YAML), 'next.yaml');

describe('policy changes on reload', () => {
  it("a level's applications changed: the menu changes, the cage keeps running", () => {
    const next = edited((y) => y.replace(/^\s+- \{ id: pdf, exec: \[mupdf-gl\], documentExec: \[mupdf\], desktop: mupdf \}\n/m, ''));
    expect(next.levels[0]!.cage.driver === 'bwrap' && next.levels[0]!.cage.apps.length).toBeLessThan(running.levels[0]!.cage.driver === 'bwrap' ? running.levels[0]!.cage.apps.length : 0);
    const changes = policyChanges(running, next);
    expect(changes.cages).toEqual([]);
    expect(changes.views).toEqual(['low']);
  });

  it('the largest auto screen changed: no restart', () => {
    const next = edited((y) => y.replace('geometry: auto', 'geometry: auto\n      maxGeometry: 1920x1080'));
    expect(policyChanges(running, next).cages).toEqual([]);
  });

  it("a cage's start definition changed (its network): that cage restarts", () => {
    const next = edited((y) => y.replace('network: nat', 'network: none'));
    expect(policyChanges(running, next).cages).toEqual(['low']);
  });

  it('a keyboard layout added by reload is a change, not "no difference"', () => {
    const next = parsePolicy(`${DEFAULT_POLICY_YAML}\nkeyboard: { layout: fr, variant: bepo }\n`, 'next.yaml');
    const changes = policyChanges(running, next);
    expect(changes.sections).toEqual(['keyboard']);
    expect(describeChanges(changes)).toEqual(['keyboard changed']);
  });
});
