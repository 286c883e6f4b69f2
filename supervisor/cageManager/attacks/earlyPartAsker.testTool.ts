/**
 * Test tool, run by the real cage manager as its `cloison` part (`--part`): a compromised part that
 * asks from its first moment, before the manager has read its policy (the manager starts its part
 * before its own start, managerMain.ts). It tries the manager's socket again and again; once a
 * connection is taken, it asks `app.windows` for a level the test's policy names (`low`) and for
 * one it does not (`zeta`). Each step is appended to a file of its own state folder (the manager
 * may be blocked reading its policy, and relays no stderr meanwhile): one JSON line each.
 */
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CloisonError } from '../../../shared/errors';
import { CageManagerClient } from '../cageManagerClient';
import { restrictCloisonPart } from '../cloisonPartRestriction';
import { managerChannel } from '../socketHandOver';

/** Read by earlyPart.attack.test.ts (not imported there: importing this runs it). */
const EARLY_ASKER_LOG = 'early-asker.log';

const { managerSocket, partStateDir } = restrictCloisonPart() as { managerSocket: string; partStateDir: string };
const report = (fields: Record<string, unknown>) => appendFileSync(join(partStateDir, EARLY_ASKER_LOG), `${JSON.stringify({ at: Date.now(), ...fields })}\n`);
const channel = managerChannel();
report({ step: 'started' });

const failures = new Set<string>();
let client: CageManagerClient | null = null;
while (!client) {
  try {
    client = await CageManagerClient.connect(managerSocket);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unknown';
    if (!failures.has(code)) report({ step: 'not connected', code });
    failures.add(code);
    await new Promise((r) => setTimeout(r, 10));
  }
}
report({ step: 'connected' });
channel.send({ type: 'ready' });
for (const level of ['low', 'zeta']) {
  try {
    report({ step: 'answer', level, result: await client.request({ op: 'app.windows', level }) });
  } catch (err) {
    report({ step: 'answer', level, code: (err as CloisonError).code });
  }
}
setInterval(() => undefined, 1000);
