/**
 * The drills' acts in a cage when the supervisor is the unprivileged `cloison` part: requests to the
 * root cage manager, which holds each cage's launcher channel. `training.spoof` names the level and
 * the look only — the manager builds the look-alike's text from its running policy's other level,
 * as localTrainingActs does from this part's — and `hide` takes it down; `training.document` carries
 * the file's name and content, written by the cage's own shell.
 */
import type { SpoofLook, TrainingActs } from './trainingActs';

/** The two requests as the cage manager's protocol writes them (cageManager/requests.ts). */
type TrainingRequest = { op: 'training.spoof'; level: string; look: SpoofLook; action: 'show' | 'hide' } | { op: 'training.document'; level: string; name: string; content: string };

/** What the acts need of the manager's client (cageManager/cageManagerClient.ts, which training/ may not import). */
export interface TrainingRequester {
  request(request: TrainingRequest): Promise<unknown>;
}

export function managerTrainingActs(client: TrainingRequester): TrainingActs {
  return {
    showLookAlike: async (level, look) => {
      await client.request({ op: 'training.spoof', level, look, action: 'show' });
      return {
        hide: async () => {
          await client.request({ op: 'training.spoof', level, look, action: 'hide' });
        },
      };
    },
    putDocument: async (level, name, content) => ((await client.request({ op: 'training.document', level, name, content })) as { written?: unknown }).written === true,
  };
}
