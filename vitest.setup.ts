/** vitest setup file: every test file's folders go when the file ends (after its own afterAll hooks). */
import { afterAll } from 'vitest';
import { removeTestRoots } from './supervisor/testing/testRoots';
import { checkoutReachableByCloison } from './supervisor/testing/checkoutReachable';

// The split supervisor's cloison part runs the checkout's bundles: it must reach them.
checkoutReachableByCloison();

afterAll(() => removeTestRoots());
