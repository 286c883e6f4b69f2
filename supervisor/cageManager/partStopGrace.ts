/**
 * How long the cage manager's stop waits for its `cloison` part before killing it. The part's stop
 * is where the cages' applications are asked to quit (its fleet's `cage.quitApps`, each level's
 * `appQuitSeconds`, at once for every level), and the manager stops the cages only once the part
 * has ended: a part killed after the 3 s every other part gets ended a slow level's wait midway —
 * `npm start` stopped with LibreOffice's recovery dialog open in high: low's applications quit in
 * 551 ms, high had no `cage.apps.quit` record at all and its cage was stopped under LibreOffice.
 * So the part gets the longest of the levels' bounds, and a margin for what follows in its stop
 * (the cages' own stop through the manager, its sockets, its journal).
 */
import { APP_QUIT_SECONDS_MAX, type LevelPolicy } from '../../shared/policy';
import { appQuitMsOf } from '../cages/cageFleet';

/** What the part's stop takes beyond its applications' wait: each cage's stop (3 s at most before SIGKILL), its own disposals. */
export const PART_STOP_MARGIN_MS = 10_000;

/** The longest grace any valid policy gives (the packaged units' stop timeout holds it: deploy/systemdUnits.test.ts). */
export const LONGEST_PART_STOP_MS = APP_QUIT_SECONDS_MAX * 1000 + PART_STOP_MARGIN_MS;

export function partStopGraceMs(levels: readonly LevelPolicy[]): number {
  return Math.max(0, ...levels.map((level) => appQuitMsOf(levels, level.id))) + PART_STOP_MARGIN_MS;
}
