/**
 * The switch from the root supervisor to the split, as an upgraded workstation makes it (#29): a
 * real root supervisor (out/supervisor/main.js) on a state folder, the user's trust phrase set
 * through its shell socket, stopped; then the cage manager (out/supervisor/cageManager.js) on the
 * same folder, its real `cloison` part started from it. The part's shell is not asked for a trust
 * phrase (it reads the user's), the journal is the one the root supervisor wrote, its chain going
 * on under the same key (`cloison audit verify` says so), and the manager journaled what moved.
 * A second start moves nothing again, and the manager's own journal verifies across both. Seen
 * without the move: the part's shell answered no phrase (the user would be asked again).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { account } from '../system/accounts';
import { EncryptingDiode } from '../files/encryptingDiode';
import { checkoutReachableByCloison } from '../testing/checkoutReachable';
import { rpcClient } from '../testing/rpcClient';
import { testRoot } from '../testing/testRoots';
import { twoLevelPolicy, vncCage } from '../testing/testPolicy';
import { supervisorReady } from '../testing/waitFor';
import { MANAGER_JOURNAL_FILE } from './managerExecutors';

const run = promisify(execFile);
const REPO = resolve(__dirname, '..', '..');
const PHRASE = 'le héron bleu du canal';

let root: string;
let state: string;
let runDir: string;
let policyFile: string;
let running: ChildProcess | null = null;

async function start(script: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [script, '--policy', policyFile, '--state-dir', state, '--run-dir', runDir], { cwd: REPO, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, CLOISON_LOG_LEVEL: 'warn' } });
  running = child;
  await Promise.race([supervisorReady(child.stdout!), new Promise((_, reject) => child.once('exit', (code) => reject(new Error(`${script} ended (${code})`))))]);
  return child;
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGINT');
  await gone;
  running = null;
}

async function trustPhraseSeen(socket: string): Promise<string | null> {
  const rpc = await rpcClient(socket);
  try {
    const answer = await rpc.call('trust.get', {});
    expect(answer.ok).toBe(true);
    return (answer.result as { phrase: string | null }).phrase;
  } finally {
    rpc.close();
  }
}

/** gpg-agents of root's started on that home. */
const rootAgentsOn = (home: string) =>
  readdirSync('/proc').filter((p) => {
    try {
      const argv = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
      return statSync(`/proc/${p}`).uid === 0 && argv.some((a) => a.endsWith('gpg-agent')) && argv.includes(home);
    } catch {
      return false;
    }
  });

const lines = (file: string) => readFileSync(file, 'utf8').split('\n').filter(Boolean);
const movedRecords = () => lines(join(state, MANAGER_JOURNAL_FILE)).map((l) => JSON.parse(l) as Record<string, unknown>).filter((r) => r.kind === 'state.movedToPart');

async function verify(journal: string, key: string): Promise<string> {
  const { stdout } = await run(process.execPath, [join(REPO, 'out/cli/cloison.js'), 'audit', 'verify', '--key', key, journal]);
  return stdout;
}

beforeAll(() => {
  root = testRoot('cloison-ss-');
  // The part (cloison) passes through to its own folders and reads the policy, as under /var/lib and /etc.
  chmodSync(root, 0o711);
  checkoutReachableByCloison();
  state = join(root, 'state');
  runDir = join(root, 'run');
  policyFile = join(root, 'policy.yaml');
  writeFileSync(policyFile, twoLevelPolicy({ low: vncCage(join(root, 'no-low.sock')), high: vncCage(join(root, 'no-high.sock')) }), { mode: 0o644 });
});

afterAll(async () => {
  if (running) await stop(running);
});

describe('the switch to the split keeps the user\'s state', () => {
  let rootJournal: string[] = [];
  let rootKey = Buffer.alloc(0);

  it('a root supervisor keeps the user\'s trust phrase and its journal in its state folder', async () => {
    const supervisor = await start('out/supervisor/main.js');
    expect(await trustPhraseSeen(join(runDir, 'supervisor.sock'))).toBeNull();
    const rpc = await rpcClient(join(runDir, 'supervisor.sock'));
    expect((await rpc.call('trust.set', { phrase: PHRASE, symbol: '★' })).ok).toBe(true);
    rpc.close();
    await stop(supervisor);
    rootJournal = lines(join(state, 'audit.jsonl'));
    rootKey = readFileSync(join(state, 'journal.key'));
    expect(rootJournal.length).toBeGreaterThan(0);
    expect(statSync(join(state, 'trust-phrase.json')).uid).toBe(0);
  }, 120_000);

  it('split on the same folder: the part shows the user\'s phrase, its journal continues the root supervisor\'s chain', async () => {
    // The diode's signing key of a level, made by the supervisor's own code as root, its gpg-agent left running (a supervisor that died).
    const signer = await new EncryptingDiode(join(state, 'diode'), 'test').signerOf('low');
    expect(rootAgentsOn(join(state, 'diode', 'gnupg'))).not.toEqual([]);
    const manager = await start('out/supervisor/cageManager.js');
    const partState = `${state}-broker`;
    expect(await trustPhraseSeen(join(`${runDir}-broker`, 'supervisor.sock'))).toBe(PHRASE);
    await stop(manager);
    const cloison = account('cloison')!;
    for (const name of ['audit.jsonl', 'journal.key', 'trust-phrase.json']) expect(statSync(join(partState, name)).uid).toBe(cloison.uid);
    // Moved, not copied: the journal and the phrase are no longer in root's folder; the key there is the manager's own, made anew.
    for (const name of ['audit.jsonl', 'trust-phrase.json']) expect(existsSync(join(state, name))).toBe(false);
    expect(readFileSync(join(partState, 'journal.key'))).toEqual(rootKey);
    expect(readFileSync(join(state, 'journal.key'))).not.toEqual(rootKey);
    const continued = lines(join(partState, 'audit.jsonl'));
    expect(continued.slice(0, rootJournal.length)).toEqual(rootJournal);
    expect(continued.length).toBeGreaterThan(rootJournal.length);
    expect(await verify(join(partState, 'audit.jsonl'), join(partState, 'journal.key'))).toMatch(/chain intact, authenticated with the installation key/);
    // The key usable by the part's account in its moved home; no root gpg-agent left on it (stopped by the restricted manager).
    const home = join(partState, 'diode', 'gnupg');
    const { stdout: listed } = await run('setpriv', ['--reuid', String(cloison.uid), '--regid', String(cloison.gid), '--clear-groups', 'gpg', '--homedir', home, '--batch', '--with-colons', '--list-secret-keys']);
    await run('setpriv', ['--reuid', String(cloison.uid), '--regid', String(cloison.gid), '--clear-groups', 'gpgconf', '--homedir', home, '--kill', 'gpg-agent']);
    expect(listed).toContain(`fpr:::::::::${signer}:`);
    expect(rootAgentsOn(join(state, 'diode', 'gnupg'))).toEqual([]);
    const [moved] = movedRecords();
    expect(moved).toMatchObject({ moved: expect.stringContaining('trust-phrase.json'), journalRecords: rootJournal.length });
    // The root era anchored in the manager's journal: the part's journal still begins with it.
    const { stdout: anchored } = await run(process.execPath, [join(REPO, 'out/cli/cloison.js'), 'audit', 'verify', '--anchor', join(state, MANAGER_JOURNAL_FILE), join(partState, 'audit.jsonl')]);
    expect(anchored).toContain(`its first ${rootJournal.length} records are those the cage manager moved`);
    expect(JSON.stringify(moved)).not.toContain('héron');
  }, 120_000);

  it('a second start moves nothing, the phrase still there', async () => {
    const manager = await start('out/supervisor/cageManager.js');
    expect(await trustPhraseSeen(join(`${runDir}-broker`, 'supervisor.sock'))).toBe(PHRASE);
    await stop(manager);
    expect(movedRecords()).toHaveLength(1);
    // The manager's own journal, keyed by the key made beside it after the move, verifies across both starts.
    expect(await verify(join(state, MANAGER_JOURNAL_FILE), join(state, 'journal.key'))).toMatch(/chain intact, authenticated with the installation key/);
  }, 120_000);
});
