/**
 * The manager's side of `xhelper.stop`: the xclip serving a selection for the `cloison` part
 * (xhelper.run's selection write), stopped — only the one its answer numbered `connection`, and
 * only if it serves the level the request names (servingSelections.ts): nothing else the manager
 * runs is ever signalled, whatever number is asked. A connection serving nothing (ended already:
 * an app took the selection, or the part's next paste replaced it) stops nothing and is no
 * refusal, so the part's ordinary stop after such an end writes nothing in root's journal. Seen
 * with an executor stopping whatever xclip the connection named (xhelperStop.test.ts): high's
 * PRIMARY stopped by a request naming low, low's CLIPBOARD by one naming high.
 */
import { refused } from './openedExactly';
import type { RequestOf } from './requests';
import type { ServingSelections } from './servingSelections';

export function xhelperStopExecutor(serving: ServingSelections): (req: RequestOf<'xhelper.stop'>) => Promise<{ stopped: boolean }> {
  return async (req) => {
    const served = serving.find(req.connection);
    if (!served) return { stopped: false };
    if (served.level !== req.level) throw refused(`connection ${req.connection} serves another level's selection, not ${req.level}'s`);
    serving.stop(served);
    return { stopped: true };
  };
}
