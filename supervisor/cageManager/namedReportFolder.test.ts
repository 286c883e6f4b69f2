/**
 * An admin-named report folder below a folder the `cloison` part controls: the part plants a link
 * there, and root (which makes the missing report folder and hands it to the part) would make a
 * folder at the link's target and give it away. Seen before the check: the manager's old code
 * (existsSync, then mkdirSync recursive) made `elsewhere/reports` through the planted link.
 */
import { chmodSync, existsSync, lchownSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeTestRoot, testRoot } from '../testing/testRoots';
import { reportFolderToMake } from './namedReportFolder';

/** The part's account (never one that exists here). */
const PART = 58877;
let root: string;

beforeAll(() => {
  root = testRoot('cloison-report-');
  chmodSync(root, 0o755);
});
afterAll(() => removeTestRoot(root));

describe('a named training report folder', () => {
  it('is refused below a folder of the part\'s where it planted a link; nothing is made at its target', () => {
    const partState = join(root, 'part-state');
    mkdirSync(partState, { mode: 0o700 });
    mkdirSync(join(root, 'elsewhere'), { mode: 0o755 });
    symlinkSync(join(root, 'elsewhere'), join(partState, 'trap'));
    lchownSync(join(partState, 'trap'), PART, PART);
    lchownSync(partState, PART, PART);
    const named = join(partState, 'trap', 'reports');
    expect(() => reportFolderToMake(named)).toThrow(/not root's|not a folder/);
    expect(existsSync(join(root, 'elsewhere', 'reports'))).toBe(false);
  });

  it('is refused when it is itself a link, or below a link root made', () => {
    mkdirSync(join(root, 'target'), { mode: 0o755 });
    symlinkSync(join(root, 'target'), join(root, 'linked'));
    expect(() => reportFolderToMake(join(root, 'linked'))).toThrow(/not a folder/);
    expect(() => reportFolderToMake(join(root, 'linked', 'reports'))).toThrow(/not a folder/);
  });

  it('is refused below a folder others may write in, when the next folder is not there yet', () => {
    const open = join(root, 'open');
    mkdirSync(open);
    chmodSync(open, 0o777);
    expect(() => reportFolderToMake(join(open, 'reports'))).toThrow(/others may write/);
    chmodSync(open, 0o1777); // sticky as /tmp: still refused, the part could make `reports` first
    expect(() => reportFolderToMake(join(open, 'reports'))).toThrow(/others may write/);
  });

  it('is made when missing below root\'s folders, and left as it is when there', () => {
    expect(reportFolderToMake(join(root, 'reports', 'daily'))).toBe(true);
    mkdirSync(join(root, 'kept'), { mode: 0o750 });
    expect(reportFolderToMake(join(root, 'kept'))).toBe(false);
    writeFileSync(join(root, 'file'), '');
    expect(() => reportFolderToMake(join(root, 'file'))).toThrow(/not a folder/);
  });
});
