/**
 * The cage manager's program (out/supervisor/cageManager.js): it restricts itself (rootPartRestriction.ts)
 * before the rest of the manager loads. The restriction executes the process again, and an image
 * that runs only this much before it does initialises the manager's modules once, not twice (the
 * first image's were measured at 0.4 s of a loaded start): the part is then started that much
 * sooner. As rootPartEntry.ts does for the root supervisor.
 */
import { restrictRootPart } from '../sandbox/rootPartRestriction';
import { holdHup } from './managerHupHold';

holdHup();
restrictRootPart();
await import('./managerMain');
