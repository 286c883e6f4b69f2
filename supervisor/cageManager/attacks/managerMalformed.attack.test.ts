/**
 * Attack (review of the cage manager's entry point, issue #29): the real manager process
 * (managerMain.ts, as root, restricted as it restricts itself) sent, by a real process of the
 * `cloison` account, requests that parse but lead each executor where it may not have gone before:
 * paths that do not exist, a folder where a file is expected, a level with nothing running, an app
 * id that is a property of every object, the largest password, sleep.inhibit where logind may not
 * answer, a cage's sound FIFOs with no cage running and no part to hand them to. Expected: each
 * answered (or refused), the manager alive after all of them, answering the next request.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPamTestUser, type PamTestUser } from '../../testing/pamTestUser';
import { sendFramesAs } from '../../testing/rawFramesAs';
import { testRoot } from '../../testing/realCage';
import { bwrapCage, twoLevelPolicy } from '../../testing/testPolicy';

const REPO = resolve(__dirname, '..', '..', '..');

let root: string;
let state: string;
let run: string;
let socketPath: string;
let cloison: PamTestUser;
let workstation: PamTestUser;
let manager: ChildProcess | null = null;
let stderr = '';

beforeAll(async () => {
  root = testRoot('cloison-rv-mm-');
  chmodSync(root, 0o711);
  state = join(root, 'state');
  run = join(root, 'run');
  for (const level of ['low', 'high']) mkdirSync(join(state, 'cages', level, 'sockets'), { recursive: true });
  cloison = createPamTestUser();
  workstation = createPamTestUser();
  const policyFile = join(root, 'policy.yaml');
  writeFileSync(policyFile, twoLevelPolicy({ low: bwrapCage({ uid: 58918 }), high: bwrapCage({ uid: 58919 }) }, `session: { pamService: ${workstation.service} }\n`));
  socketPath = join(run, 'cage-manager.sock');
  manager = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'supervisor/cageManager/managerMain.ts'), '--policy', policyFile, '--state-dir', state, '--run-dir', run, '--peer-user', cloison.user, '--shell-user', workstation.user, '--no-part'], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  manager.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  await new Promise<void>((resolve, reject) => {
    manager!.once('exit', (code) => reject(new Error(`the manager ended (${code}): ${stderr}`)));
    createInterface({ input: manager!.stdout! }).once('line', () => resolve());
  });
}, 60_000);

afterAll(async () => {
  if (manager && manager.exitCode === null && manager.signalCode === null) {
    const gone = new Promise((r) => manager!.once('exit', r));
    manager.kill('SIGTERM');
    await gone;
  }
  for (const user of [cloison, workstation]) user?.remove();
  rmSync(root, { recursive: true, force: true });
});

describe('the cage manager process, sent requests that lead its executors astray', () => {
  it('answers each and is still there', async () => {
    const low = join(state, 'cages', 'low');
    mkdirSync(join(run, 'training', 'keys', 'a-folder'), { recursive: true });
    const requests: unknown[] = [
      { op: 'state.chown', level: 'low', path: join(low, 'nothing-here'), uid: 0 },
      { op: 'state.chown', level: 'low', path: join(low, 'sockets'), uid: 58918 },
      { op: 'home.unmount', level: 'low', target: join(low, 'home') },
      { op: 'home.unmount', level: 'high', target: join(state, 'cages', 'high', 'home') },
      { op: 'loop.attach', image: join(run, 'training', 'keys', 'a-folder') },
      { op: 'loop.attach', image: join(run, 'training', 'keys', 'nothing.img') },
      { op: 'usb.unmount', device: '/dev/loop9999', target: join(run, 'media', 'low', 'x') },
      { op: 'cage.vncSocket', level: 'low' },
      { op: 'app.launch', level: 'low', appId: 'constructor', argv: ['x'] },
      { op: 'app.launch', level: 'low', appId: '__proto__', argv: ['x'] },
      { op: 'network.nat', level: 'low' },
      { op: 'network.wireguard', level: 'high' },
      { op: 'sound.host', level: 'low', direction: 'record' },
      { op: 'sound.fifos', level: 'low' },
      { op: 'sound.fifos', level: 'high' },
      { op: 'sleep.inhibit' },
      { op: 'pam.check', user: workstation.user, password: 'é'.repeat(1024) },
      { op: 'xhelper.run', level: 'low', program: 'xclip', args: [] },
    ];
    const answers: string[] = [];
    for (const request of requests) {
      const outcome = await sendFramesAs(cloison, socketPath, [{ json: { id: 1, request } }]);
      const reply = outcome.replies[0] as { ok: boolean; error?: { code: string; message: string } } | undefined;
      answers.push(`${(request as { op: string }).op}: ${reply ? (reply.ok ? 'ok' : `${reply.error!.code} ${reply.error!.message.slice(0, 100)}`) : `no answer (closed: ${outcome.closed})`}; manager ${manager!.exitCode === null && manager!.signalCode === null ? 'alive' : `ended (${manager!.exitCode ?? manager!.signalCode})`}`);
    }
    console.log(`${answers.join('\n')}\nmanager stderr (last 600): ${stderr.slice(-600)}`);
    const last = await sendFramesAs(cloison, socketPath, [{ json: { id: 2, request: { op: 'cage.vncSocket', level: 'high' } } }]);
    expect(manager!.exitCode, stderr.slice(-600)).toBeNull();
    expect(last.replies).toHaveLength(1);
    for (const line of answers) expect(line).not.toMatch(/no answer/);
  }, 120_000);
});
