/**
 * The host's keyboard layout over the split (#29), with no `keyboard` in the policy: the `cloison`
 * part learns it itself — /etc/default/keyboard is every user's to read, as Debian writes it — and
 * needs no request of the root cage manager for it. Run for real: the manager's bundle starting
 * the supervisor as its part, in a mount namespace of the test's own where /etc/default holds a
 * bépo keyboard file (the machine's own /etc is not touched); the shell's description then names
 * the host's fr bépo, and each cage's own X server answers setxkbmap -query with it (the part set
 * it through the manager's `xhelper.run`).
 */
import { chmodSync, cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bwrapCagePaths } from '../cages/bwrapDriver';
import { scratchDir } from '../cages/cageMounts';
import { requireBinary } from '../system/binaries';
import { startBuiltManager, type BuiltManager } from '../testing/builtManager';
import { checkoutReachableByCloison } from '../testing/checkoutReachable';
import { rpcClient } from '../testing/rpcClient';
import { bwrapCage, twoLevelPolicy } from '../testing/testPolicy';
import { removeTestRoots, testRoot } from '../testing/testRoots';
import { waitFor } from '../testing/waitFor';
import { queryCageKeymap } from './cageKeymap';

const UIDS = { low: 58620, high: 58621 };
/** As `dpkg-reconfigure keyboard-configuration` writes it for a bépo keyboard with us beside it. */
const HOST_KEYBOARD = 'XKBMODEL="pc105"\nXKBLAYOUT="fr,us"\nXKBVARIANT="bepo,"\nXKBOPTIONS=""\n\nBACKSPACE="guess"\n';

let root: string;
let manager: BuiltManager;

beforeAll(async () => {
  root = testRoot('cloison-kbd-');
  chmodSync(root, 0o711); // the part (cloison) passes through to its folders
  checkoutReachableByCloison();
  writeFileSync(join(root, 'p.yaml'), twoLevelPolicy({ low: bwrapCage({ uid: UIDS.low }), high: bwrapCage({ uid: UIDS.high }) }));
  // The host's /etc/default as it is, with the keyboard file a Debian installer leaves (0644, root's).
  const etcDefault = join(root, 'etc-default');
  mkdirSync(etcDefault, { mode: 0o755 });
  cpSync('/etc/default', etcDefault, { recursive: true, preserveTimestamps: true });
  writeFileSync(join(etcDefault, 'keyboard'), HOST_KEYBOARD, { mode: 0o644 });
  manager = startBuiltManager(
    ['--policy', join(root, 'p.yaml'), '--state-dir', join(root, 'state-manager'), '--run-dir', join(root, 'run-manager'), '--part-state-dir', join(root, 'state'), '--part-run-dir', join(root, 'run'), '--browser-shell', '--port', '0', '--log-level', 'warn'],
    [requireBinary('unshare'), '--mount', '--propagation', 'private', '--', 'sh', '-c', 'mount --bind "$1" /etc/default && shift && exec "$@"', 'sh', etcDefault],
  );
  // The part's "ready" (it names its shell's socket): its cages have started.
  await manager.untilLine((l) => l.ready === true && 'rpcSocket' in l, "the part's ready line", 90_000);
}, 120_000);

afterAll(async () => {
  await manager?.stop();
  removeTestRoots();
}, 60_000);

describe("the host's keyboard layout over the split", () => {
  it("the shell is told the host's layout, read by the cloison part itself", async () => {
    const rpc = await rpcClient(join(root, 'run', 'supervisor.sock'));
    try {
      const described = await rpc.call('session.describe', {});
      expect(described.ok, JSON.stringify(described.error)).toBe(true);
      expect((described.result as { keyboard: unknown }).keyboard).toEqual({ layout: 'fr', variant: 'bepo', source: 'host' });
    } finally {
      rpc.close();
    }
  });

  it("each cage's own X server has it", async () => {
    // The cages' X sockets are in the manager's run folder, on tmpfs mounted in its namespace.
    const inManagerNamespace = [requireBinary('nsenter'), '-t', String(manager.process.pid), '-m', '--'];
    for (const level of ['low', 'high']) {
      const x11 = scratchDir(bwrapCagePaths(join(root, 'state-manager'), join(root, 'run-manager'), level).scratch, 'x11');
      let keymap: unknown = null;
      await waitFor(async () => {
        keymap = await queryCageKeymap(x11, inManagerNamespace).catch((err: Error) => err.message);
        return JSON.stringify(keymap) === JSON.stringify({ layout: 'fr', variant: 'bepo' });
      }, `${level}'s keymap`, 20_000, 250).catch(() => undefined);
      expect(keymap, level).toEqual({ layout: 'fr', variant: 'bepo' });
    }
  });
});

