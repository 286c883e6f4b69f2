/**
 * The manager's side of `cage.notice`: how the unprivileged part learns the limits a level's cage
 * reached while running (memory, tasks, home full and room again: RunningCage.onNotice, the
 * driver's own words), on a protocol where only it asks (as `cage.wait` tells its end). The part
 * asks with the number of the last notice it got (`after`; none: from the first); the manager
 * answers at once with the next one it holds for the level's running cage, or keeps the request
 * pending until one comes — or answers `ended` once the cage has ended, or when none runs.
 *
 * The manager listens to a cage from the part's first `cage.notice` for it and keeps its last
 * notices (numbered, the numbers never reused while the manager runs), so a notice between two
 * requests is not lost. Every request pending for a level shares one promise: however often a part
 * asks, the manager keeps one per level. What crosses is the limit's name and the driver's
 * message, cut to one short line.
 */
import type { CageNotice, RunningCage } from '../cages/cageDriver';
import type { ManagedCages } from './managedCages';
import type { RequestOf } from './requests';

export type CageNoticeAnswer = { seq: number; notice: CageNotice } | { ended: true };

/** Notices kept per cage: more than a cage's three limits can say between two requests. */
const KEPT = 16;
const MESSAGE_CHARS = 300;
const ENDED: CageNoticeAnswer = { ended: true };

interface Watch {
  cage: RunningCage;
  log: Array<{ seq: number; notice: CageNotice }>;
  /** The pending requests' one answer, made on the first and resolved by the next notice or the end. */
  next: { promise: Promise<CageNoticeAnswer>; resolve: (answer: CageNoticeAnswer) => void } | null;
  ended: boolean;
}

export function cageNoticeExecutor(options: { cages: Pick<ManagedCages, 'cage'> }): (req: RequestOf<'cage.notice'>) => Promise<CageNoticeAnswer> {
  const watches = new Map<string, Watch>();
  let counter = 0;

  const watchOf = (level: string, cage: RunningCage): Watch => {
    const known = watches.get(level);
    if (known?.cage === cage) return known;
    const watch: Watch = { cage, log: [], next: null, ended: false };
    watches.set(level, watch);
    const answer = (a: CageNoticeAnswer) => {
      const waiting = watch.next;
      watch.next = null;
      waiting?.resolve(a);
    };
    cage.onNotice?.((notice) => {
      if (watch.ended) return;
      const entry = { seq: ++counter, notice: plainNotice(notice) };
      watch.log = [...watch.log, entry].slice(-KEPT);
      answer(entry);
    });
    const end = () => {
      watch.ended = true;
      if (watches.get(level) === watch) watches.delete(level);
      answer(ENDED);
    };
    // A failed end is an end too: unhandled, its rejection would end root's manager.
    cage.exited.then(end, end);
    return watch;
  };

  return async (req) => {
    const cage = options.cages.cage(req.level);
    if (!cage) return ENDED;
    const watch = watchOf(req.level, cage);
    const after = req.after ?? 0;
    const held = watch.log.find((e) => e.seq > after);
    if (held) return held;
    if (watch.ended) return ENDED;
    if (!watch.next) {
      let resolve!: (a: CageNoticeAnswer) => void;
      const promise = new Promise<CageNoticeAnswer>((r) => (resolve = r));
      watch.next = { promise, resolve };
    }
    return watch.next.promise;
  };
}

function plainNotice(notice: CageNotice): CageNotice {
  const limit: CageNotice['limit'] = notice.limit === 'memory' || notice.limit === 'tasks' ? notice.limit : 'home';
  return { limit, message: String(notice.message).replace(/[^\x20-\x7e\u00a0-\u024f]+/g, ' ').slice(0, MESSAGE_CHARS) };
}
