/** vitest setup file: every test file's folders go when the file ends (after its own afterAll hooks). */
import { afterAll } from 'vitest';
import { removeTestRoots } from './supervisor/testing/testRoots';

afterAll(() => removeTestRoots());
