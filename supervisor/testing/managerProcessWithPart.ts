/**
 * Test tool: the real cage manager process (managerMain.ts through tsx, as root) with the test's
 * part script as its `--part`, run as a real `cloison` test account, in a test folder of its own:
 * the policy file, the state and run folders there. The part's reports (its stderr lines marked as
 * managerPartPlan.ts says, which the manager prints prefixed with the part's name) are collected;
 * resolves once the manager prints its first line on stdout (it serves).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { PART_REPORT_MARK } from './managerPartPlan';
import { createPamTestUser, type PamTestUser } from './pamTestUser';
import { testRoot } from './testRoots';

const REPO = resolve(__dirname, '..', '..');

export type PartReport = { step: string } & Record<string, unknown>;

export interface ManagerWithPartOptions {
  /** The test folder's name prefix; or `root`, a folder the test made first (its policy names files there). */
  prefix?: string;
  root?: string;
  policy: string;
  /** The policy file's mode (default: as written, the umask's). */
  policyMode?: number;
  /** The part's script, from the repository's root. */
  part: string;
  /** More of the manager's arguments. */
  args?: string[];
  /**
   * A folder `partflag` beside the run folder, the account's, where the test leaves flags its part
   * looks for; the run folder made first, 0755.
   */
  partFlags?: boolean;
}

export interface ManagerWithPart {
  root: string;
  state: string;
  run: string;
  policyFile: string;
  cloison: PamTestUser;
  process: ChildProcess;
  /** The manager's stderr so far (its log and the part's, prefixed). */
  stderr(): string;
  reports: PartReport[];
  step(name: string): PartReport | undefined;
  /** Leaves a flag for the part (with partFlags). */
  flag(name: string): void;
  /** SIGTERM, then its exit awaited (SIGKILL after `killAfterMs`, when given): its exit code. */
  stop(killAfterMs?: number): Promise<number | null>;
  /** Stops it, runs `then` (what else the test cleans up), removes the account and the folder. */
  close(then?: () => void | Promise<void>): Promise<void>;
}

export async function startManagerWithPart(options: ManagerWithPartOptions): Promise<ManagerWithPart> {
  const root = options.root ?? testRoot(options.prefix);
  chmodSync(root, 0o711);
  const state = join(root, 'state');
  const run = join(root, 'run');
  if (options.partFlags) {
    mkdirSync(run, { recursive: true, mode: 0o755 });
    chmodSync(run, 0o755);
  }
  const cloison = createPamTestUser();
  if (options.partFlags) {
    mkdirSync(join(root, 'partflag'));
    chownSync(join(root, 'partflag'), cloison.uid, cloison.gid);
  }
  const policyFile = join(root, 'policy.yaml');
  writeFileSync(policyFile, options.policy, options.policyMode === undefined ? {} : { mode: options.policyMode });
  const argv = ['--import', 'tsx', join(REPO, 'supervisor/cageManager/managerMain.ts'), '--policy', policyFile, '--state-dir', state, '--run-dir', run, '--peer-user', cloison.user, ...(options.args ?? []), '--part', join(REPO, options.part)];
  const manager = spawn(process.execPath, argv, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  const reports: PartReport[] = [];
  createInterface({ input: manager.stderr! }).on('line', (line) => {
    stderr += `${line}\n`;
    const mark = `cloison part: ${PART_REPORT_MARK}`;
    if (line.startsWith(mark)) reports.push(JSON.parse(line.slice(mark.length)));
  });
  const stop = async (killAfterMs?: number) => {
    if (manager.exitCode !== null) return manager.exitCode;
    const gone = new Promise<number | null>((r) => manager.once('exit', (code) => r(code)));
    manager.kill('SIGTERM');
    const timer = killAfterMs === undefined ? null : setTimeout(() => manager.kill('SIGKILL'), killAfterMs);
    const code = await gone;
    if (timer) clearTimeout(timer);
    return code;
  };
  const close = async (then?: () => void | Promise<void>) => {
    await stop();
    await then?.();
    cloison.remove();
    rmSync(root, { recursive: true, force: true });
  };
  try {
    await new Promise<void>((resolve, reject) => {
      manager.once('exit', (code) => reject(new Error(`the manager ended (${code}): ${stderr}`)));
      createInterface({ input: manager.stdout! }).once('line', () => resolve());
    });
  } catch (err) {
    await close();
    throw err;
  }
  return {
    root,
    state,
    run,
    policyFile,
    cloison,
    process: manager,
    stderr: () => stderr,
    reports,
    step: (name) => reports.find((r) => r.step === name),
    flag: (name) => writeFileSync(join(root, 'partflag', name), ''),
    stop,
    close,
  };
}
