/**
 * Test tool: the folders the state move (rootStateToPart.ts) works between, as the manager finds
 * them — root's state folder (0700) and the part's (0700, a real test account's), in a test folder
 * that account passes through (0711) — and a way to run a node program as that account, as a
 * compromised part's own code would.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createPamTestUser, type PamTestUser } from './pamTestUser';
import { testRoot } from './testRoots';

export interface StateMoveFolders {
  root: string;
  /** Root's state folder, the root supervisor's and the manager's. */
  state: string;
  /** The part's state folder, its account's. */
  part: string;
  /** The part's account (removed by the test). */
  peer: PamTestUser;
}

export function stateMoveFolders(prefix: string): StateMoveFolders {
  const root = testRoot(prefix);
  const state = join(root, 'state');
  const part = join(root, 'state-part');
  chmodSync(root, 0o711);
  mkdirSync(state, { mode: 0o700 });
  const peer = createPamTestUser();
  mkdirSync(part, { mode: 0o700 });
  chownSync(part, peer.uid, peer.gid);
  return { root, state, part, peer };
}

/** `node -e source args…` as the account (no other groups); its stdout. */
export function nodeAs(account: { uid: number; gid: number }, source: string, ...args: string[]): Buffer {
  return execFileSync('setpriv', ['--reuid', String(account.uid), '--regid', String(account.gid), '--clear-groups', process.execPath, '-e', source, ...args]);
}
