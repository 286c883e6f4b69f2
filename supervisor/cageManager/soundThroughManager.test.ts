/**
 * The sound of a real cage through the root cage manager, the supervisor's AudioBroker running in
 * a real `cloison` part (remoteSoundRequester.ts) with its sound part a process of its own: the
 * manager (a real CageManagerServer, root) starts the low cage, hands its FIFOs (`sound.fifos`) and
 * the host's player and recorder (`sound.host`, pacat/parec as the workstation's test account on a
 * real PulseAudio, testing/hostSoundServer.ts). A tone played in the cage is heard on the host's
 * speakers; the host microphone's tone is heard in the cage once the part gives it the microphone.
 * The sound part runs as `cloison` with no capability, NoNewPrivs and its seccomp filter, in a
 * control group of its own below the cloison part's (its task limit); the manager keeps no descriptor of the FIFOs.
 * The microphone taken back and the level muted in the part, the manager ends the host's recorder
 * and player (the sound part, which holds their ends, is not asked to let them go): the cage's
 * microphone is silent again and the speakers no longer carry the cage's tone. Seen with the part's
 * side asking the manager nothing when the microphone is taken back (as the local path, which
 * kills its own parec): the host microphone still heard in the cage after the release.
 *
 * `sound.fifos` asked by the `cloison` account on its own connection (what a compromised part can
 * send): a path beside the level is refused by the schema, a level the policy does not name and a
 * level whose cage does not run (never started, or stopped) are refused and nothing is handed; once the policy running takes
 * the microphone back, the FIFOs handed no longer include the microphone's. (A new request: before
 * it, the part could ask for no FIFO at all, so no attack succeeded before it.)
 */
import { chmodSync, chownSync, readFileSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Policy } from '../../shared/policy';
import { FileAuditJournal } from '../audit/auditJournal';
import { bwrapCagePaths } from '../cages/bwrapDriver';
import { parsePolicy } from '../policy/policyLoader';
import { startHostSoundServer, HOST_MIC_FREQUENCY, type HostSoundServer } from '../testing/hostSoundServer';
import { createPamTestUser, type PamTestUser } from '../testing/pamTestUser';
import { sendFramesAs } from '../testing/rawFramesAs';
import { cageShell, testRoot } from '../testing/realCage';
import { bwrapCage, twoLevelPolicy } from '../testing/testPolicy';
import { peak, toneShare, toneWav } from '../testing/tones';
import { waitFor } from '../testing/waitFor';
import { CageManagerServer, REFUSED_KIND } from './cageManagerServer';
import { cageStartExecutor } from './cageStartExecutor';
import { cageStopExecutor } from './cageStopExecutor';
import { cageWaitExecutor } from './cageWaitExecutor';
import { cloisonPart, type CloisonPartMessage } from './cloisonPart';
import { ManagedCages } from './managedCages';
import { soundFifosExecutor } from './soundFifosExecutor';
import { soundHostExecutor } from './soundHostExecutor';

const LOW_UID = 58590;
const HIGH_UID = 58591;
const TONE = 660;
const PULSE = 'PULSE_SERVER=unix:/tmp/pulse/native';
const SMALL = 'homeBytes: 64MiB, tmpfsBytes: 32MiB';
const policyText = (microphone: string) => twoLevelPolicy({ low: bwrapCage({ uid: LOW_UID, limits: SMALL }), high: bwrapCage({ uid: HIGH_UID, limits: SMALL }) }, `audio: { enabled: true, microphone: [${microphone}] }\n`);
const POLICY = policyText('low');

let root: string;
let host: HostSoundServer;
let cloison: PamTestUser;
let journal: FileAuditJournal;
let server: CageManagerServer;
let socketPath: string;
let folders: { stateDir: string; runDir: string };
let policy: Policy;
const cages = new ManagedCages();
let part: ReturnType<typeof cloisonPart> | null = null;
let sound: ReturnType<typeof soundHostExecutor>;
const reports: Array<Record<string, unknown>> = [];

const refusals = () => readFileSync(journal.path, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>).filter((r) => r.kind === REFUSED_KIND);
const ask = async (request: Record<string, unknown>) => (await sendFramesAs(cloison, socketPath, [{ json: { id: 1, request } }])).replies[0] as { ok: boolean; result?: { stream: number; mic: boolean }; error?: { code: string; message: string } };
/** The host programs of the workstation's account for a stream (pacat or parec, by their --stream-name). */
const hostPrograms = (program: string, stream: string) =>
  readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
    try {
      const argv = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
      return argv[0]!.endsWith(program) && argv.includes(`--stream-name=${stream}`);
    } catch {
      return false;
    }
  });
/** What of the level's sound folder this process (the manager) holds open. */
const managerHolds = (dir: string) =>
  readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`).startsWith(dir);
    } catch {
      return false;
    }
  });

beforeAll(async () => {
  root = testRoot('cloison-snd-');
  chmodSync(root, 0o711);
  host = await startHostSoundServer();
  cloison = createPamTestUser();
  journal = new FileAuditJournal(join(root, 'audit.jsonl'));
  socketPath = join(root, 'manager.sock');
  folders = { stateDir: join(root, 'state'), runDir: join(root, 'run') };
  policy = parsePolicy(POLICY, 'p.yaml');
  const current = () => policy;
  sound = soundHostExecutor({ policy: current, target: () => host.target, part: () => part });
  server = new CageManagerServer({
    socketPath,
    peerUid: cloison.uid,
    peerGid: cloison.gid,
    journal,
    authorization: { policy: current, ...folders, trainingKeysDir: join(root, 'training'), workstationUser: null },
    executors: {
      'cage.start': cageStartExecutor({ policy: current, ...folders, cages }),
      'cage.stop': cageStopExecutor({ cages }),
      'cage.wait': cageWaitExecutor({ cages }),
      'sound.fifos': soundFifosExecutor({ policy: current, cage: cages.cage, part: () => part }),
      'sound.host': sound,
    },
  });
  await server.listen();
}, 60_000);

afterAll(async () => {
  await part?.stop();
  sound?.stop();
  for (const level of cages.levels()) await cages.cage(level)?.stop();
  await server?.close();
  journal?.close();
  host?.stop();
  cloison?.remove();
  rmSync(root, { recursive: true, force: true });
}, 60_000);

describe('sound through the cage manager', () => {
  it('a tone played in the cage is heard on the host; the host microphone is heard in the cage; the sound part runs as cloison; the manager keeps no FIFO', async () => {
    await new Promise<void>((resolve, reject) => {
      part = cloisonPart({
        command: { callerUrl: import.meta.url, source: '', bundle: '', script: join(__dirname, 'remoteSoundRequester.ts') },
        account: () => cloison,
        start: { managerSocket: socketPath, level: 'low', uid: LOW_UID, policy: POLICY, ...folders, signals: root },
        message: (m: CloisonPartMessage) => {
          reports.push(m);
          if (m.step === 'relayed') resolve();
        },
        restarting: (reason) => reject(new Error(`the part ended (${reason}) after ${JSON.stringify(reports)}`)),
      });
      part.start().catch(reject);
    });
    const step = (name: string) => reports.find((r) => r.step === name)!;
    expect(step('relayed'), JSON.stringify(reports)).toMatchObject({ uid: cloison.uid, host: { state: 'connected' }, view: { available: true, recording: true } });
    const innerPid = step('start').innerPid as number;
    const soundPartPid = step('relayed').soundPartPid as number;
    // The sound part: a process of its own, as cloison, no new privileges.
    const status = readFileSync(`/proc/${soundPartPid}/status`, 'utf8');
    expect(status).toMatch(new RegExp(`^Uid:\\t${cloison.uid}\\t${cloison.uid}\\t${cloison.uid}\\t${cloison.uid}$`, 'm'));
    expect(status).toMatch(/^NoNewPrivs:\t1$/m);
    expect(status).toMatch(/^CapEff:\t0+$/m);
    expect(status).toMatch(/^Seccomp:\t2$/m);
    expect(soundPartPid).not.toBe(part!.pid);
    // Its own control group, below the cloison part's, with the sound part's task limit (cgroup v1 here).
    const pidsGroup = (pid: number) => /^\d+:pids:(.*)$/m.exec(readFileSync(`/proc/${pid}/cgroup`, 'utf8'))?.[1];
    expect(pidsGroup(soundPartPid)).toMatch(new RegExp(`^${pidsGroup(part!.pid!)}/cloison/part-sound-part-\\d+-\\d+$`));
    expect(readFileSync(`/sys/fs/cgroup/pids${pidsGroup(soundPartPid)}/pids.max`, 'utf8').trim()).toBe('128');
    const soundDir = bwrapCagePaths(folders.stateDir, folders.runDir, 'low').sound;
    expect(managerHolds(soundDir)).toEqual([]);

    const shell = cageShell(innerPid, LOW_UID);
    const home = join(folders.stateDir, 'cages', 'low', 'home');
    writeFileSync(join(home, 'tone.wav'), toneWav(TONE, 30));
    chownSync(join(home, 'tone.wav'), LOW_UID, LOW_UID);
    await waitFor(async () => (await shell(`${PULSE} pactl info`)).code === 0, 'the cage\'s own sound server', 20_000);
    await shell(`${PULSE} paplay ~/tone.wav >/dev/null 2>&1 &`);
    // The first player of the host server's life takes a moment: listened to until heard.
    let speakers: Buffer = Buffer.alloc(0);
    await waitFor(async () => ((speakers = await host.recordSpeakers(1500)), toneShare(speakers, TONE) > 0.5), 'the cage\'s tone on the host\'s speakers', 20_000, 0);
    expect(toneShare(speakers, TONE)).toBeGreaterThan(0.5);
    await waitFor(() => reports.some((r) => r.step === 'playing' && r.playing === true), 'the band\'s view: low plays');

    // The microphone the part gave low: the host's 440 Hz heard in the cage.
    let mic: Buffer = Buffer.alloc(0);
    await waitFor(async () => {
      await shell(`${PULSE} timeout 1 parec -d cloison_mic --raw --format=s16le --rate=44100 --channels=1 > ~/mic.raw; true`);
      mic = readFileSync(join(home, 'mic.raw'));
      return toneShare(mic, HOST_MIC_FREQUENCY) > 0.5;
    }, 'the host microphone in the cage', 20_000, 0);
    expect(toneShare(mic, HOST_MIC_FREQUENCY)).toBeGreaterThan(0.5);
    expect(managerHolds(soundDir)).toEqual([]);

    // Taken back and muted in the part: the manager's recorder and player end, whatever the sound part does.
    expect(hostPrograms('parec', 'Cloison low (microphone)')).toHaveLength(1);
    writeFileSync(join(root, 'release'), '');
    await waitFor(() => reports.some((r) => r.step === 'released'), 'the part\'s release');
    expect(step('released')).toMatchObject({ view: { recording: false, muted: true } });
    await waitFor(() => hostPrograms('parec', 'Cloison low (microphone)').length === 0, 'the host recorder ended');
    await waitFor(() => hostPrograms('pacat', 'Cloison low').length === 0, 'the host player ended');
    // What the FIFO and the cage's own server held drains first (under a second of sound): then silence.
    await waitFor(async () => {
      await shell(`${PULSE} timeout 1 parec -d cloison_mic --raw --format=s16le --rate=44100 --channels=1 > ~/mic.raw; true`);
      mic = readFileSync(join(home, 'mic.raw'));
      return mic.length > 0 && peak(mic) === 0;
    }, 'the cage\'s microphone silent', 20_000, 0);
    expect(peak(mic)).toBe(0);
    expect(toneShare(await host.recordSpeakers(1000), TONE)).toBeLessThan(0.005);
  }, 180_000);

  it('refuses what the part may not have: a path, a level the policy does not name, a cage not running; the microphone FIFO only while the policy gives it', async () => {
    const seen = refusals().length;
    expect(await ask({ op: 'sound.fifos', level: 'low', path: join(folders.runDir, 'cages', 'high', 'sound', 'out.fifo') })).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    expect(await ask({ op: 'sound.fifos', level: 'secret' })).toMatchObject({ ok: false, error: { code: 'POLICY_DENIED', message: expect.stringMatching(/no level "secret"/) } });
    expect(await ask({ op: 'sound.fifos', level: 'high' })).toMatchObject({ ok: false, error: { code: 'CAGE_UNAVAILABLE', message: 'cage high is not running' } });
    expect(refusals().slice(seen).map((r) => r.op)).toEqual(expect.arrayContaining(['sound.fifos']));
    // Low's FIFOs while the policy gives it the microphone, then once a reload takes it back.
    expect(await ask({ op: 'sound.fifos', level: 'low' })).toMatchObject({ ok: true, result: { mic: true } });
    policy = parsePolicy(policyText(''), 'p.yaml');
    expect(await ask({ op: 'sound.fifos', level: 'low' })).toMatchObject({ ok: true, result: { mic: false } });
    policy = parsePolicy(policyText('low, high').replace('enabled: true', 'enabled: false'), 'p.yaml');
    expect(await ask({ op: 'sound.fifos', level: 'low' })).toMatchObject({ ok: false, error: { code: 'POLICY_DENIED', message: 'sound is off in the policy' } });
    // Its cage stopped, its FIFOs are no longer anyone's to hand, the folder left on disk or not.
    policy = parsePolicy(POLICY, 'p.yaml');
    await cages.cage('low')!.stop();
    expect(await ask({ op: 'sound.fifos', level: 'low' })).toMatchObject({ ok: false, error: { code: 'CAGE_UNAVAILABLE', message: 'cage low is not running' } });
  }, 60_000);
});
