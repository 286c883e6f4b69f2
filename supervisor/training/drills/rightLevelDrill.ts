/**
 * The right-level drill: a document arrives and the trainee chooses the level to open it in; the
 * supervisor puts it in that cage's ~/Formation. Scored on the choice.
 */
import type { Drill } from '../../../shared/trainingScenario';
import { levelName, secondsBetween, signal, trainingActsOf, type DrillContext, type RunningDrill } from './drill';

export async function startRightLevelDrill(drill: Extract<Drill, { kind: 'right-level' }>, ctx: DrillContext): Promise<RunningDrill> {
  const done = signal();
  const startedAt = ctx.now();
  let chosen: { level: string; at: number } | null = null;
  return {
    answers: ctx.levels.map((l) => ({ id: `open:${l.id}`, label: { fr: `Ouvrir dans ${l.label.fr}`, en: `Open in ${l.label.en}` }, level: l.id })),
    answer: (id) => {
      const level = id.replace(/^open:/, '');
      if (chosen || !ctx.levels.some((l) => l.id === level)) return;
      chosen = { level, at: ctx.now() };
      // Written by a process of the cage's own (its launcher's): no path of the cage's is followed as root.
      if (ctx.cage(level)) void trainingActsOf(ctx).putDocument(level, drill.document.name, drill.document.content).catch(() => undefined);
      done.fire();
    },
    observe: () => undefined,
    finished: done.promise,
    conclude: async () => {
      const passed = chosen?.level === drill.expect;
      const name = drill.document.name;
      const expected = levelName(ctx, drill.expect);
      const opened = chosen ? levelName(ctx, chosen.level) : null;
      return {
        passed,
        seconds: chosen ? secondsBetween(startedAt, chosen.at) : null,
        typedIntoFake: null,
        details: opened
          ? { fr: `« ${name} » ouvert dans ${opened.fr} (attendu : ${expected.fr})`, en: `opened “${name}” in ${opened.en} (expected ${expected.en})` }
          : { fr: 'aucun niveau choisi à temps', en: 'no level chosen in time' },
        review: passed
          ? null
          : {
              fr: `« ${name} » va dans ${expected.fr} : c'est le marquage d'un document qui décide de son niveau, pas l'endroit où il est commode de l'ouvrir.`,
              en: `“${name}” belongs in ${expected.en}: a document's marking decides its level, not where it is handy to open it.`,
            },
      };
    },
  };
}
