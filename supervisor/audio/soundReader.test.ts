/**
 * Who reads what a cage writes into its sound (issue #29: nothing parsing a cage's bytes runs
 * privileged). As the cage: a process of it writes into its playback FIFO without stopping. Every
 * process of the host that holds that FIFO open for reading (or the microphone's FIFO at all),
 * outside the cage, found from /proc/<pid>/fd and fdinfo, and how many bytes it read meanwhile
 * (/proc/<pid>/io): the only one is the sound part — uid `cloison`, no capability, NoNewPrivs,
 * a seccomp filter — and the root part holds no descriptor of either FIFO. Killed, the sound part
 * is started again the same way and is again the only reader.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { journalWriterAccount } from '../audit/journalKey';
import { CAGE_SOUND_DIR } from '../cages/cageSound';
import type { Supervisor } from '../supervisor';
import { privilegeStatus } from '../system/selfRestriction';
import { startHostSoundServer, type HostSoundServer } from '../testing/hostSoundServer';
import { cageShell, innerPidOf, testRoot } from '../testing/realCage';
import { bwrapCage, twoLevelPolicy, vncCage } from '../testing/testPolicy';
import { startTestSupervisor, type TestSupervisor } from '../testing/testSupervisor';
import { waitFor } from '../testing/waitFor';

const UID = 58527;

interface Holder {
  pid: number;
  command: string;
  /** The open file's access mode: 0 read, 1 write, 2 both. */
  mode: number;
}

/** Every process holding `path` open (same device and inode), with its access mode. */
function holdersOf(path: string): Holder[] {
  const target = statSync(path);
  const out: Holder[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const st = statSync(`/proc/${pid}/fd/${fd}`);
        if (st.dev !== target.dev || st.ino !== target.ino) continue;
        const flags = Number.parseInt(/^flags:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'))![1]!, 8);
        const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
        out.push({ pid, command, mode: flags & 3 });
      } catch {
        // gone meanwhile
      }
    }
  }
  return out;
}

const readBytes = (pid: number) => Number(/^rchar: (\d+)/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'))![1]);
const inCage = (pid: number, cagePid: number) => {
  try {
    return readFileSync(`/proc/${pid}/status`, 'utf8').includes(`\nUid:\t${UID}\t`) || pid === cagePid;
  } catch {
    return false;
  }
};

describe("a cage's sound is read by an unprivileged process only", () => {
  const root = testRoot('cloison-sreader-');
  let host: HostSoundServer;
  let t: TestSupervisor;
  let sup: Supervisor;

  beforeAll(async () => {
    host = await startHostSoundServer();
    t = await startTestSupervisor(twoLevelPolicy({ low: bwrapCage({ uid: UID }), high: vncCage('/nonexistent/vnc.sock') }, 'audio: { microphone: [low] }\n'), { root, hostSound: host.target });
    sup = t.sup;
    await waitFor(() => sup.audio.view().levels.find((l) => l.level === 'low')?.available === true, 'low relayed');
  }, 60_000);
  afterAll(async () => {
    await t?.stop();
    host?.stop();
  });

  it('the playback FIFO\'s reader outside the cage is uid cloison, CapEff 0, NoNewPrivs 1, Seccomp 2; the root part holds neither FIFO', async () => {
    const sound = sup.cages.get('low')!.cage!.sound!;
    const shell = cageShell(innerPidOf(sup, 'low'), UID);
    const cagePid = innerPidOf(sup, 'low');
    // The cage writes (a tone's worth of bytes, for longer than the look takes).
    const writing = shell(`timeout 4 dd if=/dev/urandom of=${CAGE_SOUND_DIR}/out.fifo bs=4k 2>/dev/null; true`, 20_000);
    await new Promise((r) => setTimeout(r, 500));
    const readers = holdersOf(sound.out).filter((h) => h.mode !== 1 && !inCage(h.pid, cagePid));
    const before = new Map(readers.map((r) => [r.pid, readBytes(r.pid)]));
    await new Promise((r) => setTimeout(r, 1500));
    const seen = readers.map((r) => {
      const s = privilegeStatus(r.pid);
      return { pid: r.pid, command: r.command.slice(0, 80), uid: s.uid, capEff: s.capEff, noNewPrivs: s.noNewPrivs, seccomp: s.seccomp, readMeanwhile: readBytes(r.pid) - before.get(r.pid)! };
    });
    await writing;
    console.log(`readers of low's playback FIFO outside the cage: ${JSON.stringify(seen, null, 1)}`);
    expect(seen.length).toBeGreaterThan(0);
    // It is the one reading what the cage writes (1.5 s at the format's rate is ~260 KB).
    expect(Math.max(...seen.map((s) => s.readMeanwhile))).toBeGreaterThan(100_000);
    const cloison = journalWriterAccount()!.uid;
    for (const s of seen) expect({ pid: s.pid, uid: s.uid, capEff: s.capEff, noNewPrivs: s.noNewPrivs, seccomp: s.seccomp }).toEqual({ pid: s.pid, uid: cloison, capEff: '0000000000000000', noNewPrivs: 1, seccomp: 2 });
    // The root part (this process runs the test supervisor) holds no descriptor of either FIFO.
    for (const fifo of [sound.out, sound.mic!]) expect(holdersOf(fifo).filter((h) => h.pid === process.pid)).toEqual([]);
    const micHolders = holdersOf(sound.mic!).filter((h) => !inCage(h.pid, cagePid)).map((h) => privilegeStatus(h.pid).uid);
    expect(micHolders.length).toBeGreaterThan(0);
    expect(new Set(micHolders)).toEqual(new Set([cloison]));
  }, 60_000);

  it('the sound part killed: journaled, started again restricted, and it is again the only reader', async () => {
    const sound = sup.cages.get('low')!.cage!.sound!;
    const cagePid = innerPidOf(sup, 'low');
    const first = sup.audio.part.pid!;
    process.kill(first, 'SIGKILL');
    await waitFor(() => sup.audio.part.pid !== null && sup.audio.part.pid !== first && sup.audio.view().levels.find((l) => l.level === 'low')?.available === true, 'the sound part started again', 30_000);
    expect(t.records().filter((r) => r.kind === 'soundPart.restart').map((r) => r.reason)).toEqual(['SIGKILL']);
    const readers = () => holdersOf(sound.out).filter((h) => h.mode !== 1 && !inCage(h.pid, cagePid)).map((r) => r.pid);
    // The level counts as relayed once its FIFOs are sent to the new part; the part holds them once it has read that message (late on a loaded machine).
    await waitFor(() => readers().includes(sup.audio.part.pid!), 'the new sound part reading the FIFO', 15_000).catch(() => undefined);
    expect(readers()).toEqual([sup.audio.part.pid]);
    const s = privilegeStatus(sup.audio.part.pid!);
    expect({ uid: s.uid, capEff: s.capEff, noNewPrivs: s.noNewPrivs, seccomp: s.seccomp }).toEqual({ uid: journalWriterAccount()!.uid, capEff: '0000000000000000', noNewPrivs: 1, seccomp: 2 });
  }, 60_000);
});
