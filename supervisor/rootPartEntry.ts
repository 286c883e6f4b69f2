/**
 * The supervisor's program (out/supervisor/main.js): the root part restricts itself before the
 * rest of the supervisor loads. Its restriction executes the process again (rootPartRestriction.ts),
 * and an image that loads only this much before it does pays the supervisor's loading once, not twice.
 */
import { restrictRootPart } from './sandbox/rootPartRestriction';

restrictRootPart();
await import('./main');
