/**
 * The manager's `xhelper.run` behind the real socket, asked by a real process of the `cloison`
 * account, on a real cage's X server (testing/realCage.ts). The forms the supervisor writes run in
 * the X helper sandbox on that cage's display and answer their status and bounded output; any
 * other argument list is refused, journaled, and the cage's screen left as it was. Seen with an
 * executor running the program with the request's arguments as given (in the same sandbox, as
 * nobody): a mode of 4000x3000 made and set on a level whose maxGeometry is 1024x768 (the cage's
 * screen became 4000x3000), `xrandr --fb 4000x3000` (the same), `--output VNC-0 --off` (a 32x32
 * screen), `xclip -i` through a read request (the cage's clipboard replaced), `xclip -display :0`,
 * `setxkbmap -print`, `-keycodes`, `xsetroot -cursor_name`: each ran, status 0. Now each is refused;
 * xrandr is no program of this request any more (the screen size: xScreenSizeExecutor.ts).
 * Serving a selection (writeSelection's own xclip form) hands xclip's input to the part: here a
 * stand-in for the part's channel writes the text on the descriptor handed (filesHelperExecutor.test.ts
 * has a real part take a handed descriptor).
 */
import { chmodSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileAuditJournal } from '../audit/auditJournal';
import { writeSelection, type SelectionServer } from '../clipboard/xSelection';
import { parsePolicy } from '../policy/policyLoader';
import { createPamTestUser, type PamTestUser } from '../testing/pamTestUser';
import { sendFramesAs } from '../testing/rawFramesAs';
import { startRealCage, testRoot, type RealCage } from '../testing/realCage';
import { TEST_HOME_LIMIT, twoLevelPolicy } from '../testing/testPolicy';
import { CageManagerServer, REFUSED_KIND } from './cageManagerServer';
import { xHelperRunExecutor } from './xHelperRunExecutor';

let root: string;
let journal: FileAuditJournal;
let cloison: PamTestUser;
let server: CageManagerServer;
let socketPath: string;
let cage: RealCage;
const served: SelectionServer[] = [];
/** What the part writes on the next selection input handed to it. */
let nextText = '';
const handed: Array<{ type: string; level: string; connection: number }> = [];
/** Stands for the part's channel: writes the text on the descriptor it is handed, as the part would (the manager then closes its copy: xclip reads the end). */
const standInPart = {
  send(message: { type: string; level: string; connection: number }, fd?: number): boolean {
    handed.push(message);
    if (fd !== undefined) writeSync(fd, nextText);
    return true;
  },
};

beforeAll(async () => {
  root = testRoot('cloison-xh-');
  chmodSync(root, 0o711);
  cage = await startRealCage({ level: 'low', root, geometry: '640x480' });
  cloison = createPamTestUser();
  journal = new FileAuditJournal(join(root, 'journal.jsonl'));
  socketPath = join(root, 'manager.sock');
  const lowCage = `{ driver: bwrap, network: none, geometry: auto, maxGeometry: 1024x768, apps: [], limits: { ${TEST_HOME_LIMIT} } }`;
  const policyText = twoLevelPolicy({ low: lowCage, high: `{ driver: bwrap, network: none, apps: [], limits: { ${TEST_HOME_LIMIT} } }` });
  const policy = () => parsePolicy(policyText, 'p.yaml');
  server = new CageManagerServer({
    socketPath,
    peerUid: cloison.uid,
    peerGid: cloison.gid,
    journal,
    authorization: { policy, stateDir: join(root, 'state'), runDir: join(root, 'run'), trainingKeysDir: join(root, 'training'), workstationUser: null },
    executors: { 'xhelper.run': xHelperRunExecutor({ policy, x11Dir: (level) => (level === 'low' ? cage.driver.x11Dir : null), part: () => standInPart }) },
  });
  await server.listen();
}, 60_000);

afterAll(async () => {
  for (const s of served) s.stop();
  await server?.close();
  journal?.close();
  await cage?.stop();
  cloison?.remove();
  rmSync(root, { recursive: true, force: true });
});

function refusals(): Array<Record<string, unknown>> {
  return readFileSync(journal.path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((r) => r.kind === REFUSED_KIND);
}

type Outcome = { reply: { ok: boolean; result?: { code: number; stdout: string; truncated: boolean }; error?: { code: string; message: string } }; journaled: Array<Record<string, unknown>> };

async function ask(program: string, args: string[], level = 'low'): Promise<Outcome> {
  const seen = refusals().length;
  const outcome = await sendFramesAs(cloison, socketPath, [{ json: { id: 9, request: { op: 'xhelper.run', level, program, args } } }]);
  expect(outcome.replies).toHaveLength(1);
  return { reply: outcome.replies[0] as never, journaled: refusals().slice(seen) };
}

function expectRefused(outcome: Outcome, reason: RegExp): void {
  expect(outcome.reply.ok).toBe(false);
  expect(outcome.reply.error!.message).toMatch(reason);
  expect(outcome.journaled).toHaveLength(1);
  expect(outcome.journaled[0]).toMatchObject({ actor: 'cloison', peerUid: cloison.uid });
  expect(String(outcome.journaled[0]!.reason)).toMatch(reason);
}

const text = (o: Outcome) => Buffer.from(o.reply.result!.stdout, 'base64').toString('utf8');

/** The cage's screen size as its own X server says (xrandr's query, run by the cage itself). */
async function screenSize(): Promise<string> {
  const r = await cage.sh('DISPLAY=:0 xrandr | head -1');
  return /current (\d+) x (\d+)/.exec(r.stdout)?.slice(1).join('x') ?? `unknown: ${r.stdout} ${r.stderr}`;
}

describe('xhelper.run', () => {
  it('runs no xrandr at all: the screen size is xhelper.screenSize\'s (one sandbox, two numbers); each form refused, journaled, the screen unchanged', async () => {
    for (const args of [
      [],
      ['--newmode', 'cloison-800x600', '60', '800', '800', '800', '800', '600', '600', '600', '600'],
      ['--output', 'VNC-0', '--mode', 'cloison-800x600'],
      ['--newmode', 'cloison-4000x3000', '60', '4000', '4000', '4000', '4000', '3000', '3000', '3000', '3000'],
      ['--output', 'VNC-0', '--off'],
      ['--fb', '4000x3000'],
    ]) {
      const outcome = await ask('xrandr', args);
      console.log(`xrandr ${args.join(' ')}: ${JSON.stringify(outcome.reply).slice(0, 300)}; screen ${await screenSize()}`);
      expectRefused(outcome, /not a root request: program/);
    }
    expect(await screenSize()).toBe('640x480');
  });

  it('reads a selection, bounded by the policy\'s largest clipboard; refuses -display, -i, -silent and file arguments', async () => {
    served.push(await writeSelection(cage.driver.x11Dir, 'bonjour à tous', 'clipboard'));
    const read = await ask('xclip', ['-selection', 'clipboard', '-o', '-t', 'UTF8_STRING']);
    expect(read.reply).toMatchObject({ ok: true, result: { code: 0, truncated: false } });
    expect(text(read)).toBe('bonjour à tous');
    served.push(await writeSelection(cage.driver.x11Dir, 'x'.repeat(100 * 1024), 'primary'));
    const big = await ask('xclip', ['-selection', 'primary', '-o']);
    expect(big.reply.result!.truncated).toBe(true);
    expect(Buffer.from(big.reply.result!.stdout, 'base64').length).toBe(64 * 1024);
    for (const args of [['-display', ':0', '-selection', 'clipboard', '-o'], ['-selection', 'clipboard', '-i'], ['-selection', 'clipboard', '-o', '-silent'], ['-selection', 'secondary', '-o']]) {
      const outcome = await ask('xclip', args);
      console.log(`xclip ${args.join(' ')}: ${JSON.stringify(outcome.reply).slice(0, 300)}`);
      expectRefused(outcome, /xclip: only reading a selection/);
    }
    // A path never parses as an argument (requests.ts), before the policy is looked at.
    expectRefused(await ask('xclip', ['-selection', 'clipboard', '-o', '/etc/shadow']), /an X helper argument is/);
    expect(text(await ask('xclip', ['-selection', 'clipboard', '-o']))).toBe('bonjour à tous');
  });

  it('serves a selection: xclip\'s input handed to the part, the text it writes is the cage\'s selection; asked again, the new text replaces it', async () => {
    nextText = 'collé depuis le bas';
    const write = await ask('xclip', ['-selection', 'clipboard', '-i', '-t', 'UTF8_STRING', '-quiet']);
    expect(write.reply).toMatchObject({ ok: true, result: { serving: true, connection: expect.any(Number) } });
    expect(handed.at(-1)).toEqual({ type: 'cloison.selectionInput', level: 'low', connection: (write.reply.result as unknown as { connection: number }).connection });
    const inCage = async () => (await cage.sh('DISPLAY=:0 xclip -selection clipboard -o')).stdout;
    await expect.poll(inCage, { timeout: 5000 }).toBe('collé depuis le bas');
    nextText = 'second';
    expect((await ask('xclip', ['-selection', 'clipboard', '-i', '-t', 'UTF8_STRING', '-quiet'])).reply.ok).toBe(true);
    await expect.poll(inCage, { timeout: 5000 }).toBe('second');
    expect(text(await ask('xclip', ['-selection', 'clipboard', '-o', '-t', 'UTF8_STRING']))).toBe('second');
  });

  it('sets the keymap and the desktop colour in the supervisor\'s forms only', async () => {
    expect((await ask('setxkbmap', ['-option', '', '-layout', 'fr', '-variant', 'oss'])).reply).toMatchObject({ ok: true, result: { code: 0 } });
    expect(text(await ask('setxkbmap', ['-query']))).toMatch(/layout:\s+fr/);
    expect((await ask('xsetroot', ['-solid', '#203040'])).reply).toMatchObject({ ok: true, result: { code: 0 } });
    for (const [program, args] of [['setxkbmap', ['-print']], ['setxkbmap', ['-layout', 'fr', '-keycodes', 'evdev']], ['setxkbmap', ['-display', ':0', '-layout', 'us']], ['xsetroot', ['-cursor_name', 'watch']], ['xsetroot', ['-solid', 'red']]] as const) {
      const outcome = await ask(program, [...args]);
      console.log(`${program} ${args.join(' ')}: ${JSON.stringify(outcome.reply).slice(0, 300)}`);
      expectRefused(outcome, new RegExp(`${program}: only`));
    }
    expect(text(await ask('setxkbmap', ['-query']))).toMatch(/layout:\s+fr/);
  });

  it('refuses a level the policy does not name, and a level whose cage is not running', async () => {
    expectRefused(await ask('setxkbmap', ['-query'], 'secret'), /no level "secret"/);
    expectRefused(await ask('setxkbmap', ['-query'], 'high'), /cage high is not running/);
  });
});
