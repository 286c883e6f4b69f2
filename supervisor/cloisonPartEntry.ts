/**
 * The `cloison` part's program (out/supervisor/cloisonPart.js, or this source through tsx), started
 * by the cage manager (cageManager/cloisonPart.ts): it reads its start and restricts itself for
 * good (cloisonPartRestriction.ts: the `cloison` user, no capability, NoNewPrivs, its own syscall
 * filter cloisonPartSeccompProgram: the service's less the namespace calls its bwrap needs) before
 * the supervisor's modules even load, then runs the supervisor as the part.
 */
import { restrictCloisonPart } from './cageManager/cloisonPartRestriction';

const start = restrictCloisonPart();
const { runCloisonPart } = await import('./cloisonPartMain');
await runCloisonPart(start);
