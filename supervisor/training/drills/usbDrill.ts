/**
 * The USB drill: a training key (a loop device over an image in the training folder) is plugged
 * in; the trainee decides in the trusted dialog where it goes. Scored on the level and mode chosen.
 */
import type { Drill } from '../../../shared/trainingScenario';
import { levelName, secondsBetween, signal, type DrillContext, type RunningDrill } from './drill';

const MODE_NAMES = { 'read-only': { fr: 'lecture seule', en: 'read-only' }, 'read-write': { fr: 'lecture-écriture', en: 'read-write' } } as const;

export async function startUsbDrill(drill: Extract<Drill, { kind: 'usb' }>, ctx: DrillContext): Promise<RunningDrill> {
  const done = signal();
  const startedAt = ctx.now();
  const key = await ctx.plugKey(drill.key);
  let decision: { level: string | null; mode: string | null; at: number } | null = null;
  return {
    answers: [],
    answer: () => undefined,
    observe: (record) => {
      if (record.kind !== 'usb.decision' || record.actor !== 'user' || record.serial !== key.serial || decision) return;
      decision = { level: typeof record.level === 'string' ? record.level : null, mode: typeof record.mode === 'string' ? record.mode : null, at: ctx.now() };
      done.fire();
    },
    finished: done.promise,
    conclude: async () => {
      if (decision) await ctx.deviceSettled(key.serial);
      await key.unplug();
      const passed = decision?.level === drill.expect.level && decision.mode === drill.expect.mode;
      const expected = levelName(ctx, drill.expect.level);
      const mode = (m: string | null) => MODE_NAMES[m as keyof typeof MODE_NAMES] ?? { fr: m ?? '', en: m ?? '' };
      const attached = decision?.level ? levelName(ctx, decision.level) : null;
      return {
        passed,
        seconds: decision ? secondsBetween(startedAt, decision.at) : null,
        typedIntoFake: null,
        details: !decision
          ? { fr: 'pas de décision à temps', en: 'no decision in time' }
          : attached
            ? { fr: `attachée à ${attached.fr} en ${mode(decision.mode).fr}`, en: `attached to ${attached.en} ${mode(decision.mode).en}` }
            : { fr: 'laissée sans niveau', en: 'left unattached' },
        review: passed
          ? null
          : {
              fr: `Cette clé va dans ${expected.fr}, en ${mode(drill.expect.mode).fr} : le niveau d'une clé dépend de ce qu'elle porte et d'où elle vient.`,
              en: `This key belongs to ${expected.en}, ${mode(drill.expect.mode).en}: a key's level is decided by what it carries and where it comes from.`,
            },
      };
    },
  };
}
