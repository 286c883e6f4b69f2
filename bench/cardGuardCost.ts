/**
 * The card guard's cost per relayed call (issue #31): a level's proxy with its guard's relay
 * program (cardRecordRelay.ts, the default), the same with the guard relaying in this process
 * (the code before it, a broker of its own), and a third one's pkcs11proxyd's own socket (no
 * guard), taking turns, each path its own pkcs11proxyd. Per path: the wall of a whole `pkcs11-tool --login --sign` (19 calls), this
 * process's CPU during it, one signature in a session (pkcs11Probe.py signs), this process's CPU
 * per relayed call in those sessions; and the relay program's CPU over the whole measure.
 *
 *   node --import tsx bench/cardGuardCost.ts [rounds] [signs]
 *
 * CARD_GUARD_PROFILE=node|relay runs that path's signatures only (for `node --cpu-prof`, `perf`);
 * CARD_GUARD_TRACE=1 times whole runs' calls under strace; CARD_GUARD_BUSY=ms holds this process's
 * event loop that long every 10 ms (the cloison part is a busy Node process; this one idles).
 */
import { execFile } from 'node:child_process';
import { chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { smartcardPolicySchema } from '../shared/smartcardPolicy';
import { CARD_ALIAS } from '../supervisor/smartcard/cardFilterConfig';
import { CLIENT_NAME } from '../supervisor/smartcard/cardClientModule';
import { CARD_RECORD_RELAY_NAME } from '../supervisor/smartcard/cardRecordRelay';
import { cardProxyPaths } from '../supervisor/smartcard/levelCardProxy';
import { SmartcardBroker } from '../supervisor/smartcard/smartcardBroker';
import { testRoot } from '../supervisor/testing/realCage';
import { makeSoftToken, SOFTHSM_MODULE, TOKEN_PIN } from '../supervisor/testing/softToken';
import { fmt, median } from './lib/stats';

const run = promisify(execFile);
/** supervisor/testing/testUids.ts: 52950–52999 (the guard's measures). */
const PROXY_UID = 52950;
const NODE_PROXY_UID = 52951;
const ALONE_PROXY_UID = 52952;
const ROUNDS = Number(process.argv[2] ?? 20);
const SIGNS = Number(process.argv[3] ?? 200);
type Path = 'relay' | 'node' | 'camlCrush';
const PATHS: Path[] = ['relay', 'node', 'camlCrush'];

/** utime + stime of a process, ms (10 ms ticks). */
const processCpuMs = (pid: number) => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ').slice(11, 13).reduce((a, f) => a + Number(f), 0) * 10;

const root = testRoot('cloison-gcost-');
chmodSync(root, 0o711);
const token = makeSoftToken(join(root, 'token'), [PROXY_UID, NODE_PROXY_UID]);
const aloneToken = makeSoftToken(join(root, 'token-alone'), ALONE_PROXY_UID);
const policyFor = (uid: number, conf = token.conf) => smartcardPolicySchema.parse({ module: SOFTHSM_MODULE, levels: { high: { objects: ['high-sign'], uid } }, environment: { SOFTHSM2_CONF: conf } });
const broker = new SmartcardBroker({ policy: { current: () => ({ smartcard: policyFor(PROXY_UID) }) }, dir: join(root, 'card'), cageGid: () => 0, record: () => {} });
const nodeBroker = new SmartcardBroker({ policy: { current: () => ({ smartcard: policyFor(NODE_PROXY_UID) }) }, dir: join(root, 'card-node'), cageGid: () => 0, record: () => {}, recordRelay: null });
// Caml Crush alone: a pkcs11proxyd of its own (one shared with a guarded path would have its spare
// worker taken by the run before, and the next run wait for its fork).
const aloneBroker = new SmartcardBroker({ policy: { current: () => ({ smartcard: policyFor(ALONE_PROXY_UID, aloneToken.conf) }) }, dir: join(root, 'card-alone'), cageGid: () => 0, record: () => {}, recordRelay: null });
const doc = join(root, 'doc');
writeFileSync(doc, 'document\n');
const probe = fileURLToPath(new URL('../supervisor/testing/pkcs11Probe.py', import.meta.url));
let busyTimer: NodeJS.Timeout | null = null;
try {
  const clientDir = broker.endpoint('high')!.clientDir!;
  nodeBroker.endpoint('high');
  aloneBroker.endpoint('high');
  await broker.start();
  await nodeBroker.start();
  await aloneBroker.start();
  const env = (to: string) => ({ ...process.env, PKCS11PROXY_SOCKET_PATH: to, PKCS11PROXY_LIBNAME: CARD_ALIAS });
  const module = join(clientDir, CLIENT_NAME);
  const paths: Record<Path, NodeJS.ProcessEnv> = {
    relay: env(join(root, 'card/high/socket/pkcs11.sock')),
    node: env(join(root, 'card-node/high/socket/pkcs11.sock')),
    camlCrush: env(cardProxyPaths(join(root, 'card-alone/high')).innerSocket),
  };
  const relayPid = Number((await run('pgrep', ['-o', '-P', String(process.pid), '-f', CARD_RECORD_RELAY_NAME])).stdout.trim());
  const sign = (e: NodeJS.ProcessEnv) => run('pkcs11-tool', ['--module', module, '--login', '--pin', TOKEN_PIN, '--sign', '-m', 'SHA256-RSA-PKCS', '--id', '01', '-i', doc, '-o', join(root, 'sig')], { env: e });
  const signs = async (e: NodeJS.ProcessEnv) => JSON.parse((await run('python3', [probe, module, 'signs', TOKEN_PIN, String(SIGNS)], { env: e })).stdout) as { perSignMs: number; signFailures: number };
  const profiled = process.env.CARD_GUARD_PROFILE as Path | undefined;
  // CARD_GUARD_BUSY=ms: this process's event loop held that long every 10 ms (a busy cloison part stood in).
  const busy = Number(process.env.CARD_GUARD_BUSY ?? 0);
  if (busy > 0) busyTimer = setInterval(() => {
    const until = performance.now() + busy;
    while (performance.now() < until);
  }, 10);
  if (process.env.CARD_GUARD_TRACE) {
    // Whole runs under strace, the paths alternated: from connect to the end, the first call's
    // wait (the proxy connection made, handed over), and the other calls' waits summed.
    const traced: Record<Path, { whole: number[]; first: number[]; rest: number[] }> = { relay: { whole: [], first: [], rest: [] }, node: { whole: [], first: [], rest: [] }, camlCrush: { whole: [], first: [], rest: [] } };
    for (let round = 0; round < ROUNDS; round++) {
      for (const path of [...PATHS.slice(round % 3), ...PATHS.slice(0, round % 3)]) {
        const out = join(root, `trace-${path}`);
        await run('strace', ['-o', out, '-ttt', '-e', 'trace=read,write,connect', 'pkcs11-tool', '--module', module, '--login', '--pin', TOKEN_PIN, '--sign', '-m', 'SHA256-RSA-PKCS', '--id', '01', '-i', doc, '-o', join(root, 'sig')], { env: paths[path] });
        const lines = readFileSync(out, 'utf8').split('\n').filter(Boolean);
        const waits: number[] = [];
        let sent: number | null = null;
        let connected = 0;
        for (const line of lines) {
          const at = Number(line.split(' ')[0]);
          if (line.includes(' connect(3,')) connected = at;
          if (line.includes(' write(3,')) sent = at;
          else if (line.includes(' read(3,') && sent !== null) {
            waits.push((at - sent) * 1000);
            sent = null;
          }
        }
        traced[path].whole.push((Number(lines.at(-1)!.split(' ')[0]) - connected) * 1000);
        traced[path].first.push(waits[0]!);
        traced[path].rest.push(waits.slice(3).reduce((a, b) => a + b, 0));
      }
    }
    console.log(`load ${fmt(loadavg()[0]!, 1)}; ${ROUNDS} rounds under strace`);
    for (const path of PATHS) console.log(`${path}: connect to end ${fmt(median(traced[path].whole), 2)} ms; first call's wait ${fmt(median(traced[path].first), 2)} ms; calls 4 to 19 summed ${fmt(median(traced[path].rest), 2)} ms`);
  } else if (profiled) {
    for (let i = 0; i < 3; i++) await signs(paths[profiled]);
    console.log(`profiled: ${3 * SIGNS} signatures through ${profiled} (relay program pid ${relayPid})`);
  } else {
    const load0 = loadavg()[0]!;
    const blank = (): Record<Path, number[]> => ({ relay: [], node: [], camlCrush: [] });
    const whole = blank();
    const wholeCpu = blank();
    const perCallCpu = blank();
    const perSign = blank();
    const relayFrom = processCpuMs(relayPid);
    for (let round = 0; round < ROUNDS; round++) {
      const order = [...PATHS.slice(round % 3), ...PATHS.slice(0, round % 3)];
      const cpuOfSigns = { relay: 0, node: 0, camlCrush: 0 };
      for (const path of order) {
        const cpu = process.cpuUsage();
        const start = performance.now();
        await sign(paths[path]);
        whole[path].push(performance.now() - start);
        const used = process.cpuUsage(cpu);
        wholeCpu[path].push((used.user + used.system) / 1000);
        const cpu2 = process.cpuUsage();
        const probed = await signs(paths[path]);
        if (probed.signFailures !== 0) throw new Error(`${path}: signatures failed`);
        const used2 = process.cpuUsage(cpu2);
        cpuOfSigns[path] = used2.user + used2.system;
        perSign[path].push(probed.perSignMs);
      }
      for (const path of PATHS) perCallCpu[path].push((cpuOfSigns[path] - cpuOfSigns.camlCrush) / (2 * SIGNS));
    }
    const relayCpu = processCpuMs(relayPid) - relayFrom;
    console.log(`load ${fmt(load0, 1)} -> ${fmt(loadavg()[0]!, 1)}; ${ROUNDS} rounds, the paths' order rotated`);
    for (const path of PATHS) {
      const pairs = whole[path].map((ms, i) => ms - whole.camlCrush[i]!);
      const signPairs = perSign[path].map((ms, i) => ms - perSign.camlCrush[i]!);
      console.log(`${path}: whole ${fmt(median(whole[path]), 2)} ms (rounds' median over Caml Crush alone ${fmt(median(pairs), 2)}); this process's CPU in it ${fmt(median(wholeCpu[path]), 2)} ms; one signature ${fmt(median(perSign[path]), 3)} ms (over Caml Crush alone ${fmt(median(signPairs), 3)}); this process's CPU per call over Caml Crush alone's ${fmt(median(perCallCpu[path]), 1)} µs`);
    }
    const calls = ROUNDS * (19 + 2 * SIGNS + 8);
    console.log(`relay program's CPU: ${relayCpu} ms over ~${calls} calls (${ROUNDS} whole runs of 19, ${ROUNDS} sessions of ${2 * SIGNS} + ~8): ~${fmt((relayCpu * 1000) / calls, 1)} µs a call`);
  }
} finally {
  if (busyTimer) clearInterval(busyTimer);
  await broker.close();
  await nodeBroker.close();
  await aloneBroker.close();
  rmSync(root, { recursive: true, force: true, maxRetries: 5 });
}
