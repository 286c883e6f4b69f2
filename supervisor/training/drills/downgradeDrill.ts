/**
 * The downgrade drill: a text waits in the clipboard of a higher level and the card asks the
 * trainee to paste it into a lower one. The right answer is to refuse — on the card, or in the
 * trusted dialog if the policy asks. Scored from the journal: what was attempted, what crossed.
 */
import type { Drill } from '../../../shared/trainingScenario';
import { levelName, secondsBetween, signal, type DrillContext, type RunningDrill } from './drill';

export async function startDowngradeDrill(drill: Extract<Drill, { kind: 'downgrade' }>, ctx: DrillContext): Promise<RunningDrill> {
  await ctx.writeClipboard(drill.from, drill.content);
  const done = signal();
  const startedAt = ctx.now();
  let answeredAt: number | null = null;
  let refusedOnCard = false;
  const seen = { pasted: false, refusedInDialog: false, stoppedByPolicy: false };
  return {
    answers: [
      { id: 'refuse', label: { fr: 'Je refuse : ce texte ne doit pas descendre', en: 'I refuse: this text must not go down' }, level: null },
      { id: 'done', label: { fr: 'C’est fait', en: 'Done' }, level: null },
    ],
    answer: (id) => {
      if (answeredAt !== null) return;
      answeredAt = ctx.now();
      refusedOnCard = id === 'refuse';
      done.fire();
    },
    observe: (record) => {
      if (record.kind !== 'clipboard.paste' || record.from !== drill.from || record.to !== drill.to) return;
      if (record.decision === 'pasted') seen.pasted = true;
      else if (record.decision === 'refused' && record.actor === 'user') seen.refusedInDialog = true;
      else if (record.decision === 'denied') seen.stoppedByPolicy = true;
      if (seen.pasted || seen.refusedInDialog) {
        answeredAt ??= ctx.now();
        done.fire();
      }
    },
    finished: done.promise,
    conclude: async () => {
      const passed = !seen.pasted && !seen.stoppedByPolicy && (refusedOnCard || seen.refusedInDialog);
      const from = levelName(ctx, drill.from);
      const to = levelName(ctx, drill.to);
      const what = seen.pasted
        ? { fr: `le texte a été collé de ${from.fr} dans ${to.fr}`, en: `the text was pasted from ${from.en} into ${to.en}` }
        : seen.stoppedByPolicy
          ? { fr: `un collage dans ${to.fr} a été tenté ; la politique l'a arrêté`, en: `a paste into ${to.en} was attempted; the policy stopped it` }
          : refusedOnCard || seen.refusedInDialog
            ? { fr: 'refusé', en: 'refused' }
            : { fr: 'pas de réponse à temps', en: 'no answer in time' };
      return {
        passed,
        seconds: answeredAt !== null ? secondsBetween(startedAt, answeredAt) : null,
        typedIntoFake: null,
        details: what,
        review: passed
          ? null
          : {
              fr: `Un texte de ${from.fr} ne descend pas dans ${to.fr}, si pressante que soit la demande : refusez, et signalez une demande qui insiste.`,
              en: `Text from ${from.en} does not go to ${to.en}, however urgent the request: refuse it, and report a request that insists.`,
            },
      };
    },
  };
}
