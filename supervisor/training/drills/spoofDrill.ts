/**
 * The spoof drill: after a moment, a cage paints a look-alike of the shell (a band in another
 * level's colour, a crossing dialog, a lock screen) while the card gives the trainee an ordinary
 * task in that level (the drill never moves the focus: only the user does, trusted path property 4). The right reaction: the secure-attention key, then "report an
 * anomaly". Scored on whether they reported it, how fast, and whether they typed into the fake:
 * the keys the gateway delivered to that cage while the fake was up, a count the cage cannot touch.
 * When the drill ends the fake is killed with all it started; it kept nothing of what was typed.
 */
import type { Drill } from '../../../shared/trainingScenario';
import { levelName, secondsBetween, signal, trainingActsOf, type DrillContext, type RunningDrill } from './drill';
import type { ShownLookAlike } from './trainingActs';

const LOOK_NAMES = {
  band: { fr: 'faux bandeau', en: 'fake band' },
  dialog: { fr: 'faux dialogue de passage', en: 'fake crossing dialog' },
  lock: { fr: 'faux écran de verrouillage', en: 'fake lock screen' },
} as const;

export async function startSpoofDrill(drill: Extract<Drill, { kind: 'spoof' }>, ctx: DrillContext): Promise<RunningDrill> {
  const cage = ctx.cage(drill.level);
  if (!cage) throw new Error(`the spoof drill needs the ${drill.level} cage running`);
  const other = ctx.levels.find((l) => l.id !== drill.level) ?? ctx.levels[0]!;
  const acts = trainingActsOf(ctx);
  const done = signal();
  let shownAt: number | null = null;
  let keysAtShow = 0;
  let reportedAt: number | null = null;
  let showing: Promise<ShownLookAlike | null> = Promise.resolve(null);
  const timer = setTimeout(() => {
    keysAtShow = ctx.keyPresses(drill.level);
    shownAt = ctx.now();
    // A cage that killed its launcher gets no fake: the drill then scores a report of nothing.
    showing = acts.showLookAlike(drill.level, drill.look, other).catch(() => null);
  }, drill.afterSeconds * 1000);
  return {
    answers: [],
    answer: () => undefined,
    observe: (record) => {
      if (record.kind !== 'user.report' || shownAt === null || reportedAt !== null) return;
      reportedAt = ctx.now();
      done.fire();
    },
    finished: done.promise,
    conclude: async () => {
      clearTimeout(timer);
      const keysNow = ctx.keyPresses(drill.level);
      const shown = await showing;
      // Keys count only while a look-alike was up: without one, they went to the cage's own programs.
      const typed = shown ? keysNow - keysAtShow : 0;
      if (shown) await shown.hide().catch(() => undefined);
      const noticed = reportedAt !== null && shownAt !== null;
      const seconds = noticed ? secondsBetween(shownAt!, reportedAt!) : null;
      const passed = noticed && typed === 0;
      const level = levelName(ctx, drill.level);
      const look = LOOK_NAMES[drill.look];
      return {
        passed,
        seconds,
        typedIntoFake: typed,
        details: {
          fr: `${look.fr} dans ${level.fr} : ${noticed ? `signalé après ${seconds} s` : 'non signalé'}, ${typed > 0 ? `${typed} caractères tapés dedans` : 'rien tapé dedans'}`,
          en: `${look.en} in ${level.en}: ${noticed ? `reported after ${seconds} s` : 'not reported'}, ${typed > 0 ? `${typed} characters typed into it` : 'nothing typed into it'}`,
        },
        review: passed
          ? null
          : {
              fr: "Un bandeau, un dialogue ou un écran de verrouillage dans un cadre appartient à la cage : le vrai bandeau est au-dessus du cadre et montre votre phrase de confiance, et la touche d'attention sécurisée (Pause) ramène toujours la vraie vue de confiance. Appuyez dessus d'abord, puis signalez.",
              en: "A band, dialog or lock screen inside a frame is the cage's: the real band is above the frame and shows your trust phrase, and the secure-attention key (Pause) always brings the real trusted view. Press it first, then report.",
            },
      };
    },
  };
}
