/**
 * A compromised `cloison` part speaking to `npm start` and to root's log through the manager's
 * relay of its messages (managerMain.ts, partAnnouncement.ts), with the real manager as root and
 * the part as `cloison`:
 * - its start's failure carries a reason of its choosing, which the manager prints on the line
 *   `npm start` reads and shows on the user's terminal ("the cloison part did not start: …"):
 *   terminal escape sequences there would set the host terminal's clipboard (OSC 52), rewrite the
 *   lines above, fake a cage's status. The reason must reach that line escaped, as its stderr is;
 * - messages it may send as often as it likes (a type nothing acts on, an announcement refused)
 *   each wrote a line into the manager's log, which journald then rate-limits for the whole unit:
 *   the manager's own lines were drowned. Its stderr is held to a budget (partStderr.ts); what
 *   the manager says about its messages must be too.
 */
import { spawn } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { testRoot } from '../../testing/testRoots';
import { bwrapCage, twoLevelPolicy } from '../../testing/testPolicy';
import { waitFor } from '../../testing/waitFor';

const REPO = resolve(__dirname, '..', '..', '..');
/** The fixes: partAnnouncement.ts's partFailedLine and partMessageLog.ts, called by managerMain.ts (both attacks seen succeeding before). */
/** C0 and C1 controls, bidi overrides: what a terminal acts on or reorders. */
const TERMINAL_ACTS = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

/** The real manager as root, its part the script `body` runs after restricting itself as every part. */
function managerWithPart(prefix: string, uids: [number, number], body: string) {
  const root = testRoot(prefix);
  chmodSync(root, 0o711);
  writeFileSync(join(root, 'p.yaml'), twoLevelPolicy({ low: bwrapCage({ uid: uids[0] }), high: bwrapCage({ uid: uids[1] }) }));
  const part = join(root, 'hostilePart.ts');
  writeFileSync(part, `
import { restrictCloisonPart } from ${JSON.stringify(join(REPO, 'supervisor/cageManager/cloisonPartRestriction.ts'))};
import { managerChannel } from ${JSON.stringify(join(REPO, 'supervisor/cageManager/socketHandOver.ts'))};
const start = restrictCloisonPart() as { partRunDir: string };
const channel = managerChannel();
${body}
setInterval(() => undefined, 1000);
`, { mode: 0o644 });
  const manager = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'supervisor/cageManager/managerMain.ts'), '--policy', join(root, 'p.yaml'), '--state-dir', join(root, 'state'), '--run-dir', join(root, 'run'), '--part', part], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const log = { text: '' };
  manager.stderr!.on('data', (d: Buffer) => (log.text += d.toString()));
  createInterface({ input: manager.stdout! }).on('line', (line) => lines.push(line));
  const stop = async () => {
    if (manager.exitCode !== null || manager.signalCode !== null) return;
    const gone = new Promise((r) => manager.once('exit', r));
    manager.kill('SIGTERM');
    await gone;
  };
  return { manager, lines, log, stop };
}

describe('a hostile part\'s words on the user\'s terminal and in root\'s log', () => {
  it('the reason a part gives for not starting reaches npm start\'s line with no control character', async () => {
    // OSC 52 (the host terminal's clipboard), then the line above erased and a cage's status faked.
    const reason = String.raw`'\u001b]52;c;cm0gLXJmIH4K\u0007\u001b[1A\u001b[2K\rcloison: cage high: running\u202e'`;
    const run = managerWithPart('cloison-pf-', [59981, 59982], `channel.send({ type: 'failed', error: ${reason} });`);
    try {
      await waitFor(() => run.lines.some((l) => l.includes('"partFailed"')) || run.manager.exitCode !== null, 'the manager saying its part did not start', 60_000, 100);
      const failed = JSON.parse(run.lines.find((l) => l.includes('"partFailed"'))!) as { partFailed: true; reason: string };
      // What npm start prints after "the cloison part did not start: " (scripts/start.mjs).
      console.log(`npm start would print: ${JSON.stringify(failed.reason)}`);
      expect(failed.reason).toContain('cage high: running'); // the part's words are still said…
      expect(failed.reason).not.toMatch(TERMINAL_ACTS); // …but none a terminal acts on
    } finally {
      await run.stop();
    }
  }, 90_000);

  it('twenty thousand messages nothing acts on and refused announcements cost the manager\'s log a few lines', async () => {
    const run = managerWithPart('cloison-pm-', [59983, 59984], `
channel.send({ type: 'ready' });
for (let i = 0; i < 10000; i++) {
  channel.send({ type: 'noise' });
  channel.send({ type: 'announce', state: 'listening', url: 'file:///etc/shadow', origin: null, rpcSocket: start.partRunDir + '/supervisor.sock', cages: [] });
}
// Its channel keeps order: once this honest line is printed, every message above was read.
channel.send({ type: 'announce', state: 'ready', url: null, origin: null, rpcSocket: start.partRunDir + '/supervisor.sock', cages: [] });
`);
    try {
      await waitFor(() => run.lines.some((l) => l.includes('"ready":true')) || run.manager.exitCode !== null, 'the honest ready line after the flood', 80_000, 200);
      const aboutMessages = run.log.text.split('\n').filter((l) => /cloison part: (message not acted on|announcement refused)|cloison part: .*dropped/.test(l));
      console.log(`the manager's log lines about the part's 20000 messages: ${aboutMessages.length}`);
      expect(run.manager.exitCode).toBeNull();
      expect(aboutMessages.length).toBeGreaterThan(0); // said, not silenced
      expect(aboutMessages.length).toBeLessThanOrEqual(64);
      expect(run.lines.join('\n')).not.toContain('file:');
    } finally {
      await run.stop();
    }
  }, 120_000);
});
