/**
 * The whole path of a cage's VNC connection after the split: the unprivileged part (a process of
 * another uid, the manager's child) asks the manager's socket for a level's connection; the manager
 * connects to the real cage, checks its peer, hands the socket over; the part speaks RFB with the
 * cage's Xvnc over it. Another user's server at a cage's socket, or a level the policy does not name, gets nothing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Socket } from 'node:net';
import type { RunningCage } from '../cages/cageDriver';
import { chmodSync, chownSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileAuditJournal } from '../audit/auditJournal';
import { parsePolicy } from '../policy/policyLoader';
import { createPamTestUser, type PamTestUser } from '../testing/pamTestUser';
import { startRealCage, testRoot, type RealCage } from '../testing/realCage';
import { bwrapCage, twoLevelPolicy } from '../testing/testPolicy';
import { CageManagerServer } from './cageManagerServer';
import { cloisonPart, type CloisonPartMessage } from './cloisonPart';
import { vncSocketExecutor } from './vncSocketExecutor';

const POLICY = twoLevelPolicy({ low: bwrapCage({ uid: 58720 }), high: bwrapCage({ uid: 58721 }) });

let root: string;
let cage: RealCage;
let cloison: PamTestUser;
let journal: FileAuditJournal;
let server: CageManagerServer;
let highCage: RunningCage | null = null;
let part: ReturnType<typeof cloisonPart> | null = null;
let impostor: ChildProcess | null = null;
let stranger: PamTestUser;

beforeAll(async () => {
  root = testRoot('cloison-vx-');
  chmodSync(root, 0o711);
  cage = await startRealCage({ level: 'low' });
  cloison = createPamTestUser();
  stranger = createPamTestUser();
  // Another user's server where the high cage's socket would be: it greets like Xvnc.
  mkdirSync(join(root, 'impostor'));
  chownSync(join(root, 'impostor'), stranger.uid, stranger.gid);
  const impostorPath = join(root, 'impostor', 'vnc.sock');
  impostor = spawn('setpriv', ['--reuid', String(stranger.uid), '--regid', String(stranger.gid), '--clear-groups', '--', process.execPath, '-e', "require('net').createServer((s) => { s.on('error', () => {}); s.write('RFB 003.008\\n'); }).listen(process.argv[1], () => console.log('up'))", impostorPath], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((r) => impostor!.stdout!.once('data', r));
  const high = { ...cage.cage, endpoint: { path: impostorPath }, verifyPeer: (s: Socket) => cage.cage.verifyPeer!(s) };
  highCage = high;
  journal = new FileAuditJournal(join(root, 'audit.jsonl'));
  server = new CageManagerServer({
    socketPath: join(root, 'manager.sock'),
    peerUid: cloison.uid,
    peerGid: cloison.gid,
    journal,
    authorization: { policy: () => parsePolicy(POLICY, 'p.yaml'), stateDir: join(root, 'state'), runDir: join(root, 'run'), trainingKeysDir: join(root, 'training'), workstationUser: null },
    executors: { 'cage.vncSocket': vncSocketExecutor({ cage: (level) => (level === 'low' ? cage.cage : level === 'high' ? highCage : null), part: () => part }) },
  });
  await server.listen();
}, 60_000);

afterAll(async () => {
  await part?.stop();
  impostor?.kill();
  await server?.close();
  journal?.close();
  await cage?.stop();
  cloison?.remove();
  stranger?.remove();
  rmSync(root, { recursive: true, force: true });
});

describe('cage.vncSocket, from the unprivileged part to the cage', () => {
  it('hands the checked connection over; the part speaks RFB with Xvnc over it; other levels get nothing', async () => {
    const reports: Array<Record<string, unknown>> = [];
    await new Promise<void>((resolve, reject) => {
      const message = (m: CloisonPartMessage) => {
        if (m.type === 'done') resolve();
        else reports.push(m);
      };
      part = cloisonPart({
        command: { callerUrl: import.meta.url, source: '', bundle: '', script: join(__dirname, '../testing/vncSocketRequester.ts') },
        account: () => cloison,
        start: { managerSocket: join(root, 'manager.sock'), levels: ['low', 'high', 'left', 'secret'] },
        message,
        restarting: (reason) => reject(new Error(`the part ended (${reason}) after ${JSON.stringify(reports)}`)),
      });
      part.start().catch(reject);
    });
    expect(reports[0]).toMatchObject({ level: 'low', connection: 1, uid: cloison.uid, banner: 'RFB 003.008\n' });
    expect(reports[0]!.securityTypes).toBeGreaterThan(0);
    expect(reports[0]!.socket).toMatch(/^socket:\[\d+\]$/);
    // Attack: another user's server at the cage's socket is never handed over.
    expect(reports[1]).toEqual({ type: 'report', level: 'high', error: expect.stringMatching(/is not served by that cage's Xvnc \(peer uid \d+/) });
    expect(reports[2]).toEqual({ type: 'report', level: 'left', error: 'no level "left" in the running policy' });
    expect(reports[3]).toEqual({ type: 'report', level: 'secret', error: 'no level "secret" in the running policy' });
  }, 60_000);
});
