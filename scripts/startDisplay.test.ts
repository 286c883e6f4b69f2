/**
 * `sudo npm start` on a user's display (issue #26, the lead's walk-through): a bare TigerVNC Xvnc
 * of 1366×768 with no window manager, `setxkbmap fr` set by the user's session, no
 * /etc/default/keyboard, a policy naming no layout. npm start reads the display as the shell's
 * user: it says `keyboard: fr`, hands it to the cage manager (--display-keyboard fr), whose part
 * tells the shell fr from the display; and the shell's Chromium window covers the screen (read
 * with xwininfo). Ctrl+C then stops everything.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { rpcClient } from '../supervisor/testing/rpcClient';
import { skipWhen } from '../supervisor/testing/skipWithReason';
import { bwrapCage, twoLevelPolicy } from '../supervisor/testing/testPolicy';
import { waitFor } from '../supervisor/testing/waitFor';
import { covers, settledWindow, startXvnc, type XvncDisplay } from '../supervisor/testing/xvncDisplay';

/** The cages' uids (supervisor/testing/testUids.ts: 56840–56849 this file's). */
const UIDS = { low: 56840, high: 56841 };
const TEST_USER = 'cloison-shell-test';
const hasUser = spawnSync('id', ['-u', TEST_USER]).status === 0;
const missing = process.getuid?.() !== 0
  ? 'root (npm start starts the cage manager)'
  : !hasUser
    ? `the ${TEST_USER} account (scripts/setup.sh makes it)`
    : spawnSync('id', ['-u', 'cloison']).status !== 0
      ? 'the cloison account (scripts/setup.sh makes it)'
      : !existsSync('/usr/bin/chromium')
        ? 'Chromium'
        : ['Xvnc', 'xwininfo', 'xprop', 'xdotool', 'setxkbmap'].find((p) => spawnSync('sh', ['-c', `command -v ${p}`]).status !== 0) ?? null;

/** The processes whose command line names this start's folder (the manager, its part, cages). */
function processesUnder(root: string): string[] {
  return readdirSync('/proc').filter((p) => /^\d+$/.test(p)).flatMap((p) => {
    try {
      const argv = readFileSync(`/proc/${p}/cmdline`, 'utf8');
      return argv.includes(root) ? [argv.replace(/\0/g, ' ')] : [];
    } catch {
      return [];
    }
  });
}

describe("npm start on a French user's display (#26)", skipWhen(missing && `needs ${missing}`), () => {
  let display: XvncDisplay | undefined;
  let root: string | undefined;
  afterAll(async () => {
    await display?.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  }, 30_000);

  it("the layout the user types with reaches the part as the display's, and the window covers the screen", async () => {
    display = await startXvnc(1366, 768, 'fr');
    root = mkdtempSync(join(tmpdir(), 'cloison-hostfit12-start-'));
    chmodSync(root, 0o711); // the part, as cloison, reaches its own folders beside the manager's
    const policy = join(root, 'p.yaml');
    writeFileSync(policy, twoLevelPolicy({ low: bwrapCage({ uid: UIDS.low }), high: bwrapCage({ uid: UIDS.high }) }));
    const env: NodeJS.ProcessEnv = { ...process.env, DISPLAY: display.display, SUDO_USER: TEST_USER, LANG: 'fr_FR.UTF-8' };
    delete env.XAUTHORITY;
    delete env.WAYLAND_DISPLAY;
    const child = spawn(process.execPath, ['scripts/start.mjs', '--policy', policy, '--state-dir', join(root, 's'), '--run-dir', join(root, 'r')], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let out = '';
    child.stdout.on('data', (d) => (out += d.toString()));
    child.stderr.on('data', (d) => (out += d.toString()));
    try {
      await waitFor(() => out.includes('keyboard: fr,') || child.exitCode !== null, 'npm start saying the display\'s layout', 30_000, 100);
      expect(out).toContain("cloison: keyboard: fr, the display's (setxkbmap -query), unless the policy names one");
      // The manager started with it (never a cage's word: read on the user's own display, before any cage).
      await waitFor(() => processesUnder(join(root!, 'r-code')).some((l) => l.includes('cageManager.js')), 'the cage manager', 60_000, 100);
      expect(processesUnder(join(root, 'r-code')).find((l) => l.includes('cageManager.js'))).toMatch(/--display-keyboard fr( |$)/);
      // The part tells the shell the display's layout (no keyboard in the policy, no host file here).
      const socket = join(root, 'r-broker', 'supervisor.sock');
      await waitFor(() => existsSync(socket), "the part's shell socket", 90_000, 200);
      const rpc = await rpcClient(socket);
      try {
        let keyboard: unknown = null;
        await waitFor(async () => {
          const described = await rpc.call('session.describe', {});
          keyboard = described.ok ? (described.result as { keyboard: unknown }).keyboard : described.error;
          return described.ok;
        }, 'session.describe', 30_000, 250);
        expect(keyboard).toEqual({ layout: 'fr', variant: '', source: 'display' });
      } finally {
        rpc.close();
      }
      // The shell's window, on a screen with no window manager: over all of it.
      const window = await settledWindow(display.display, ['--class', 'chromium']);
      expect(covers(window, 1366, 768), JSON.stringify(window)).toBe(true);
    } finally {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGINT');
        await new Promise((r) => child.once('exit', r));
      }
    }
    expect(child.exitCode, out.slice(-3000)).toBe(130);
    await waitFor(() => processesUnder(root!).length === 0, 'everything npm start started, gone', 15_000, 100);
  }, 240_000);
});
