/**
 * What changed between the running policy and a new one, section by section and level by level:
 * what a reload can apply live (broker sections, shortcuts, a level's cage — that cage alone
 * restarts) and what needs a supervisor restart (levels added, removed or reordered).
 */
import { cageStartDefinition, type Policy } from '../../shared/policy';
import { cageSoundOf } from './runningPolicy';

export interface PolicyChanges {
  /** Levels added, removed or reordered: not applied live. */
  levelSetChanged: boolean;
  /** Levels whose cage definition changed: those cages restart. */
  cages: string[];
  /** Levels whose name, rank or colours changed (shells pick them up when they reconnect). */
  views: string[];
  /** Top-level sections that changed (flows, files, clipboard, usb, shortcuts, session, audio, training, locale: shells pick it up when they reconnect; smartcard: the changed levels' card proxies restart). */
  sections: string[];
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

export function policyChanges(running: Policy, next: Policy): PolicyChanges {
  const ids = (p: Policy) => p.levels.map((l) => l.id);
  const levelSetChanged = !same(ids(running), ids(next));
  const cages: string[] = [];
  const views: string[] = [];
  if (!levelSetChanged) {
    running.levels.forEach((level, i) => {
      const other = next.levels[i]!;
      // Its sound (on, microphone allowed) is set up when the cage starts: a change restarts it too.
      if (!same(cageStartDefinition(level.cage), cageStartDefinition(other.cage)) || !same(cageSoundOf(running, level.id), cageSoundOf(next, level.id))) cages.push(level.id);
      const { cage: _a, ...view } = level;
      const { cage: _b, ...otherView } = other;
      // The launcher's menu is part of what the shell shows of a level, not of what its cage runs.
      const apps = (c: typeof level.cage) => (c.driver === 'bwrap' ? c.apps : []);
      if (!same(view, otherView) || !same(apps(level.cage), apps(other.cage))) views.push(level.id);
    });
  }
  const sections = (['flows', 'files', 'clipboard', 'usb', 'shortcuts', 'session', 'audio', 'training', 'locale', 'keyboard', 'smartcard'] as const).filter((k) => !same(running[k], next[k]));
  return { levelSetChanged, cages, views, sections };
}

export function hasChanges(c: PolicyChanges): boolean {
  return c.levelSetChanged || c.cages.length + c.views.length + c.sections.length > 0;
}

/** For people: one line per change. */
export function describeChanges(c: PolicyChanges): string[] {
  if (!hasChanges(c)) return ['no difference from the running policy'];
  const lines: string[] = [];
  if (c.levelSetChanged) lines.push('levels added, removed or reordered: applied at the next start of the supervisor');
  for (const level of c.cages) lines.push(`levels.${level}.cage changed: that cage restarts`);
  for (const level of c.views) lines.push(`levels.${level} name, rank, colours or applications changed`);
  for (const section of c.sections) lines.push(section === 'session' ? 'session changed (session.user: at the next start of the supervisor)' : section === 'smartcard' ? 'smartcard changed: the card proxies of the levels whose filter changed restart (their open sessions end); a card for a level that had none at start, at the next start of the supervisor' : `${section} changed`);
  return lines;
}
