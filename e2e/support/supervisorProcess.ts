/**
 * Starts the built supervisor as its own process for an end-to-end test, with the test's own
 * policy, state and run directories; stops it (and so its cages) afterwards.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { expect, type Page } from '@playwright/test';
import { rpcClient } from '../../supervisor/testing/rpcClient';
import { giveToPart, isManagerOwnLine, SPLIT, supervisorCommand, supervisorPidOf, trainingFoldersForPart } from '../../supervisor/testing/splitSupervisor';
import { TEST_HOME_LIMIT, twoLevelPolicy } from '../../supervisor/testing/testPolicy';

export interface SupervisorProcess {
  /** The first launch address (single use: one shell, once). */
  url: string;
  /** A fresh launch address for another shell, from the supervisor's Unix socket (as npm start gets one). */
  launchUrl(): Promise<string>;
  origin: string;
  /** The shell's RPC socket (Unix). */
  rpcSocket: string;
  root: string;
  stateDir: string;
  /**
   * Where the cages' state (`cages/<level>/home`…) and run records (`cages/<level>/scratch`: the
   * X socket folder…) really are: the test's folders, or split, the manager's beside them.
   */
  cageStateDir: string;
  cageRunDir: string;
  /** The supervisor's (root part's) pid; split (the default; CLOISON_SPLIT=0 for the root supervisor alone), its cloison part's (the manager's child) once ready. */
  pid: number;
  homeOf(level: string): string;
  stop(): Promise<void>;
}

const REPO = fileURLToPath(new URL('../..', import.meta.url));

export const TEST_TRUST_PHRASE = 'Le héron pêche à l’aube';

export interface StartOptions {
  extraArgs?: string[];
  /** The trust phrase already chosen (as after a first start); null for a first start. */
  trustPhrase?: string | null;
  /** Added to the supervisor's environment (LANG, to start it as on a French or English host). */
  env?: NodeJS.ProcessEnv;
  /** The test folder's mode: 0o711 lets an unprivileged helper (a card proxy) pass through to its folders. */
  rootMode?: number;
}

export async function startSupervisor(policyYaml: string, options: StartOptions = {}): Promise<SupervisorProcess> {
  const extraArgs = options.extraArgs ?? [];
  const root = mkdtempSync(join(tmpdir(), 'cloison-e2e-'));
  if (options.rootMode !== undefined) chmodSync(root, options.rootMode);
  const policyFile = join(root, 'policy.yaml');
  writeFileSync(policyFile, policyYaml);
  const stateDir = join(root, 'state');
  // Split (the default; CLOISON_SPLIT=0 for the root supervisor alone): the cage manager with the supervisor as its cloison part, whose folders are these.
  const command = supervisorCommand(stateDir, join(root, 'run'));
  const phrase = options.trustPhrase === undefined ? TEST_TRUST_PHRASE : options.trustPhrase;
  if (phrase !== null) {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    writeFileSync(join(stateDir, 'trust-phrase.json'), JSON.stringify({ phrase, symbol: '◆' }), { mode: 0o600 });
    giveToPart(join(stateDir, 'trust-phrase.json'));
  }
  trainingFoldersForPart(extraArgs);
  const child: ChildProcess = spawn(
    process.execPath,
    [join(REPO, command.script), '--policy', policyFile, ...command.folders, '--browser-shell', '--print-launch-url', ...extraArgs],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, CLOISON_LOG_LEVEL: 'warn', ...options.env } },
  );
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  // "listening" carries the launch address; tests go on at "ready", once the cages have started.
  const ready = await new Promise<{ url: string; origin: string; rpcSocket: string }>((res, rej) => {
    // Split, the manager starts first, then its part (a second node), then the cages through it.
    const within = SPLIT ? 60 : 30;
    const timer = setTimeout(() => rej(new Error(`supervisor not ready (its cages started) within ${within} s: ${stderr}`)), within * 1000);
    let url = '';
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const said = JSON.parse(line) as { listening?: boolean; ready?: boolean; partFailed?: boolean; reason?: string; url: string; origin: string; rpcSocket: string };
      if (said.partFailed) rej(new Error(`the cloison part did not start: ${said.reason}: ${stderr}`));
      if (isManagerOwnLine(said)) return;
      if (said.listening) url = said.url;
      if (!said.ready) return;
      clearTimeout(timer);
      res({ ...said, url });
    });
    child.once('exit', (code) => rej(new Error(`supervisor exited ${code}: ${stderr}`)));
  }).catch(async (err: unknown) => {
    // Not ready: stopped, its cages with it, and its folder gone — a failed start leaves nothing behind.
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
    rmSync(root, { recursive: true, force: true });
    throw err;
  });
  return {
    ...ready,
    launchUrl: async () => {
      const rpc = await rpcClient(ready.rpcSocket);
      const r = await rpc.call('shell.launch', {});
      rpc.close();
      return (r.result as { url: string }).url;
    },
    root,
    stateDir,
    cageStateDir: command.cageStateDir,
    cageRunDir: command.cageRunDir,
    pid: SPLIT ? (supervisorPidOf(child.pid!) ?? child.pid!) : child.pid!,
    homeOf: (level) => join(command.cageStateDir, 'cages', level, 'home'),
    stop: async () => {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** A two-level policy with real bwrap cages whose terminal covers the whole screen. */
export function twoCagePolicy(options: { lowNetwork?: string; highNetwork?: string; extraApps?: string[]; extra?: string } = {}): string {
  const apps = ['[xterm, -geometry, 120x40+0+0, -fa, DejaVu Sans Mono, -fs, "12"]', ...(options.extraApps ?? [])];
  const cage = (network: string) => `{ driver: bwrap, network: ${network}, geometry: 1024x640, apps: [${apps.join(', ')}], limits: { ${TEST_HOME_LIMIT} } }`;
  return twoLevelPolicy({ low: cage(options.lowNetwork ?? 'none'), high: cage(options.highNetwork ?? 'none') }, options.extra ?? '');
}

/** Opens the shell and waits until both cages' viewers are connected. */
export async function openShell(page: Page, sup: SupervisorProcess): Promise<void> {
  await page.goto(await sup.launchUrl());
  await expect(page.getByTestId('cage-frame-low')).toHaveAttribute('data-viewer', 'connected');
  await expect(page.getByTestId('cage-frame-high')).toHaveAttribute('data-viewer', 'connected');
}
