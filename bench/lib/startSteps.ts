/**
 * The steps of a start, in their order, read from a profile's timeline (appsStartProfile.ts): for
 * each, the first time it was seen, per level where it has one. What runs one after the other on a
 * start's path shows as the gaps between lines; a step never seen prints "–".
 */
export interface TimelineEvent {
  at: number;
  what: string;
}

/** Each step: its name, what its timeline line looks like (a level's `[low]`/`"level":"low"`/`low` where it has one). */
const STEPS: Array<{ name: string; line: (level: string) => RegExp; perLevel: boolean }> = [
  { name: 'cage started by the manager (before the part asks)', line: (l) => new RegExp(`log: cage started before the part asks \\[${l}\\]`), perLevel: true },
  { name: 'the cloison part started', line: () => /log: cloison part started/, perLevel: false },
  { name: 'the shell listening (start.mjs printed its address)', line: () => /the shell is at/, perLevel: false },
  { name: 'cage running (the manager)', line: (l) => new RegExp(`log: cage running \\[${l}\\]`), perLevel: true },
  { name: 'cage running (the part)', line: (l) => new RegExp(`journal: cage.running \\{"level":"${l}"`), perLevel: true },
  { name: 'keymap set', line: (l) => new RegExp(`journal: cage.keymap \\{"level":"${l}"`), perLevel: true },
  { name: 'resized by the part ("cage screen")', line: (l) => new RegExp(`log: cage screen \\[${l}\\]`), perLevel: true },
  { name: 'the session\'s applications starting', line: (l) => new RegExp(`log: session applications starting \\[${l}\\]`), perLevel: true },
  { name: 'the shell\'s page loaded', line: () => /shell page loaded: http/, perLevel: false },
  { name: 'the shell asks its ticket (the cage running, its frame ready)', line: (l) => new RegExp(`viewer ${l} connecting`), perLevel: true },
  { name: 'viewer ticket', line: (l) => new RegExp(`journal: vnc.ticket \\{"level":"${l}"`), perLevel: true },
  { name: 'viewer connected (gateway)', line: (l) => new RegExp(`journal: vnc.connect \\{"level":"${l}"`), perLevel: true },
  { name: 'first full frame in the shell', line: (l) => new RegExp(`PAINT ${l}: first full frame in the shell`), perLevel: true },
  { name: 'application painted in its cage', line: (l) => new RegExp(`PAINT ${l}: application painted in its cage`), perLevel: true },
  { name: 'application seen in the shell', line: (l) => new RegExp(`PAINT ${l}: application seen in the shell`), perLevel: true },
];

export function stepsOfStart(events: readonly TimelineEvent[], levels: readonly string[] = ['low', 'high']): string[] {
  const first = (re: RegExp) => events.filter((e) => re.test(e.what)).reduce<number | null>((min, e) => (min === null || e.at < min ? e.at : min), null);
  const shown = (at: number | null) => (at === null ? '–' : String(at));
  return STEPS.map((step) => {
    const times = step.perLevel ? levels.map((l) => shown(first(step.line(l)))).join(' / ') : shown(first(step.line('')));
    return `${times.padStart(15)}  ${step.name}`;
  });
}
