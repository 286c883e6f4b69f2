/**
 * Smart card signature: through a level's filtering proxy (the supervisor's record guard, Caml
 * Crush's pkcs11proxyd and its filter, the client module a cage uses, ours without Kerberos) against the token directly
 * (the same SoftHSM2 module loaded in the signing process), in the same run, the paths taking turns.
 *
 * Two figures: a whole `pkcs11-tool --sign` (start, connect, log in, find the key, sign — what an
 * application's first signature costs), and one signature in an open, logged-in session
 * (C_SignInit + C_Sign, 200 in a row: what each further signature costs). A third: from loading the
 * module to C_Initialize done, in the signing processes (through Caml Crush, a worker takes the
 * connection and opens the module: levelCardProxy.ts preloads it in the parent).
 *
 * Further paths split the proxy's cost: the same level's proxy and guard without the OpenSSL
 * pre-initialisation (opensslPreinit.ts; the code before it, a broker of its own), without the
 * workers' page-table fill (workerPrefault.ts, likewise), without the waiting worker's module
 * initialisation (workerModuleInit.ts, likewise), and with its read-only pages' fill alone
 * (the code before the heap's fill: the same source built without it); Caml Crush's own
 * socket, the guard left out (root may connect there; a cage never can); the same level's proxy with OCaml's default GC (the code
 * before PROXY_OCAML_GC, a broker of its own); a pkcs11proxyd on the same filter without the
 * module preloaded (the code before the preload, as a reference in the same run); and `p11-kit
 * server` on the same token (no filter: what a proxy that loads the module once in its parent
 * costs). And CPU time, less at the mercy of the machine's load than latency: the guard's per
 * relayed call, read off this process (the guard runs here, as in the supervisor), and each
 * pkcs11proxyd's per whole run, read off its controller (its workers' once it reaped them).
 * Each server and the direct path sign on a copy of the token of its own: a login rewrites the
 * token's files, and a waiting worker watching them initialises the module again (workerModuleInit.c)
 * — one level's proxy's spare, not every path's at each run.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { smartcardPolicySchema } from '../shared/smartcardPolicy';
import { CARD_CLIENT_MODULE } from '../supervisor/smartcard/cageCardEndpoint';
import { CLIENT_NAME } from '../supervisor/smartcard/cardClientModule';
import { CARD_RECORD_RELAY_NAME } from '../supervisor/smartcard/cardRecordRelay';
import { CARD_ALIAS, serverConfig } from '../supervisor/smartcard/cardFilterConfig';
import { cardProxyPaths, PROXY_ADDRESS_SPACE, PROXY_OPEN_FILES } from '../supervisor/smartcard/levelCardProxy';
import { OPENSSL_PREINIT_NAME } from '../supervisor/smartcard/opensslPreinit';
import { WORKER_PREFAULT_NAME } from '../supervisor/smartcard/workerPrefault';
import { SmartcardBroker } from '../supervisor/smartcard/smartcardBroker';
import { testRoot } from '../supervisor/testing/realCage';
import { makeSoftToken, SOFTHSM_MODULE, TOKEN_PIN } from '../supervisor/testing/softToken';
import { fmt, median } from './lib/stats';

const run = promisify(execFile);
const PROXY_UID = 58600;
const ROUNDS = 15;
const SIGNS = 200;

/** The pause before each timed run. */
const SETTLE_MS = 300;
type Path = 'proxy' | 'proxyNotAhead' | 'proxyDebianClient' | 'proxyReadFill' | 'proxyNoPrefault' | 'proxyNoModuleInit' | 'proxyNoPreinit' | 'camlCrush' | 'camlCrushDefaultGc' | 'camlCrushUnloaded' | 'p11kit' | 'direct';
const PATHS: Path[] = ['proxy', 'proxyNotAhead', 'proxyDebianClient', 'proxyReadFill', 'proxyNoPrefault', 'proxyNoModuleInit', 'proxyNoPreinit', 'camlCrush', 'camlCrushDefaultGc', 'camlCrushUnloaded', 'p11kit', 'direct'];
const BUILD_NATIVE = fileURLToPath(new URL('../scripts/buildOpensslPreinit.mjs', import.meta.url));
const WORKER_PREFAULT_SOURCE = fileURLToPath(new URL('../supervisor/smartcard/native/workerPrefault.c', import.meta.url));
const P11KIT_CLIENT = '/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so';
const empty = (): Record<Path, number[]> => ({ proxy: [], proxyNotAhead: [], proxyDebianClient: [], proxyReadFill: [], proxyNoPrefault: [], proxyNoModuleInit: [], proxyNoPreinit: [], camlCrush: [], camlCrushDefaultGc: [], camlCrushUnloaded: [], p11kit: [], direct: [] });

export interface SmartcardSignResult {
  wholeMs: Record<Path, number[]>;
  perSignMs: Record<Path, number[]>;
  /** Loading the module to C_Initialize done, in the signing processes. */
  openMs: Record<Path, number[]>;
  /** The machine's load average (1 min) at the start and the end. */
  load: [number, number];
  /** CPU time of this process per RPC call relayed, in the signing loops: through the guard less through Caml Crush alone. */
  guardCpuUsPerCall: number[];
  /** CPU time of a pkcs11proxyd (controller and workers) per whole pkcs11-tool --sign, in the rounds without signing loops. */
  proxyCpuMsPerRun: { camlCrush: number; camlCrushDefaultGc: number; noPreinit: number; noPrefault: number; noModuleInit: number; readFill: number };
}

export async function runSmartcardSignBench(log: (s: string) => void): Promise<SmartcardSignResult> {
  const root = testRoot('cloison-scb-');
  chmodSync(root, 0o711);
  const token = makeSoftToken(join(root, 'token'), PROXY_UID);
  const policy = smartcardPolicySchema.parse({ module: SOFTHSM_MODULE, levels: { high: { objects: ['high-sign'], uid: PROXY_UID } }, environment: { SOFTHSM2_CONF: token.conf } });
  // The same token for another server (or the direct path): its files copied, its configuration naming them.
  const tokenCopy = (name: string): string => {
    const dir = join(root, `token-${name}`);
    execFileSync('cp', ['-a', join(root, 'token'), dir]);
    const conf = join(dir, 'softhsm2.conf');
    writeFileSync(conf, readFileSync(token.conf, 'utf8').replace(join(root, 'token', 'tokens'), join(dir, 'tokens')));
    return conf;
  };
  const on = (name: string, environment: Record<string, string> = {}) => smartcardPolicySchema.parse({ ...policy, environment: { ...policy.environment, SOFTHSM2_CONF: tokenCopy(name), ...environment } });
  const broker = new SmartcardBroker({ policy: { current: () => ({ smartcard: policy }) }, dir: join(root, 'card'), cageGid: () => 0, record: () => {} });
  // The same level's proxy as the code before PROXY_OCAML_GC: an empty OCAMLRUNPARAM is OCaml's defaults.
  // A broker of its own, so that its pkcs11proxyd runs in a control group like the level's (CPU shares included).
  const defaultGcPolicy = on('default-gc', { OCAMLRUNPARAM: '' });
  const defaultGcBroker = new SmartcardBroker({ policy: { current: () => ({ smartcard: defaultGcPolicy }) }, dir: join(root, 'card-default-gc'), cageGid: () => 0, record: () => {} });
  // The same level's proxy, guard included, without the OpenSSL pre-initialisation (the code before it).
  const noPreinitPolicy = on('no-preinit');
  const noPreinitBroker = new SmartcardBroker({ policy: { current: () => ({ smartcard: noPreinitPolicy }) }, dir: join(root, 'card-no-preinit'), cageGid: () => 0, record: () => {}, opensslPreinit: null });
  // The same level's proxy, guard included, without the workers' page-table fill (the code before it).
  const noPrefaultPolicy = on('no-prefault');
  const noPrefaultBroker = new SmartcardBroker({ policy: { current: () => ({ smartcard: noPrefaultPolicy }) }, dir: join(root, 'card-no-prefault'), cageGid: () => 0, record: () => {}, workerPrefault: null });
  // The same level's proxy, guard included, without the waiting worker's module initialisation (the code before it).
  // The same level's proxy, guard included, connecting to the proxy only when the cage connects (the code before spareProxyConnection.ts).
  const notAheadPolicy = on('not-ahead');
  const notAheadBroker = new SmartcardBroker({ policy: { current: () => ({ smartcard: notAheadPolicy }) }, dir: join(root, 'card-not-ahead'), cageGid: () => 0, record: () => {}, connectAhead: false });
  const noModuleInitPolicy = on('no-module-init');
  const noModuleInitBroker = new SmartcardBroker({ policy: { current: () => ({ smartcard: noModuleInitPolicy }) }, dir: join(root, 'card-no-module-init'), cageGid: () => 0, record: () => {}, workerModuleInit: null });
  // The same level's proxy, guard included, with the workers' fill of their read-only pages alone
  // (the code before their heap's fill): the same source built without it, in this run's folder.
  const readFill = join(root, 'workerPrefaultReadOnly.so');
  const readFillPolicy = on('read-fill');
  const readFillBroker = new SmartcardBroker({ policy: { current: () => ({ smartcard: readFillPolicy }) }, dir: join(root, 'card-read-fill'), cageGid: () => 0, record: () => {}, workerPrefault: readFill });
  const doc = join(root, 'doc');
  writeFileSync(doc, 'document\n');
  const probe = fileURLToPath(new URL('../supervisor/testing/pkcs11Probe.py', import.meta.url));
  const children: ChildProcess[] = [];
  try {
    execFileSync(process.execPath, [BUILD_NATIVE, WORKER_PREFAULT_SOURCE, readFill, 'WORKER_PREFAULT_READ_ONLY=1'], { stdio: 'pipe' });
    // The client module the level's cage loads (ours, without Kerberos: cardClientModule.ts).
    const cageClient = broker.endpoint('high')!.clientDir;
    if (!cageClient) throw new Error('the cages\' card client was not made (patchelf, npm run build\'s stub): the bench would measure Debian\'s');
    await broker.start();
    // The level's guard relays through its program (cardRecordRelay.ts): its CPU is the guard's too.
    const relayPid = Number((await run('pgrep', ['-n', '-P', String(process.pid), '-f', CARD_RECORD_RELAY_NAME]).catch(() => ({ stdout: '0' }))).stdout.trim());
    defaultGcBroker.endpoint('high');
    await defaultGcBroker.start();
    noPreinitBroker.endpoint('high');
    await noPreinitBroker.start();
    noPrefaultBroker.endpoint('high');
    await noPrefaultBroker.start();
    noModuleInitBroker.endpoint('high');
    await noModuleInitBroker.start();
    notAheadBroker.endpoint('high');
    await notAheadBroker.start();
    readFillBroker.endpoint('high');
    await readFillBroker.start();
    const socket = join(root, 'card/high/socket/pkcs11.sock');
    const client = (to: string, module = join(cageClient, CLIENT_NAME)) => ({ module, env: { ...process.env, PKCS11PROXY_SOCKET_PATH: to, PKCS11PROXY_LIBNAME: CARD_ALIAS } });
    const paths: Record<Path, { module: string; env: NodeJS.ProcessEnv }> = {
      proxy: client(socket),
      proxyNotAhead: client(join(root, 'card-not-ahead/high/socket/pkcs11.sock')),
      // The same proxy through Debian's client (its libtirpc loading MIT Kerberos): the code before ours.
      proxyDebianClient: client(socket, CARD_CLIENT_MODULE),
      proxyReadFill: client(join(root, 'card-read-fill/high/socket/pkcs11.sock')),
      proxyNoPrefault: client(join(root, 'card-no-prefault/high/socket/pkcs11.sock')),
      proxyNoModuleInit: client(join(root, 'card-no-module-init/high/socket/pkcs11.sock')),
      proxyNoPreinit: client(join(root, 'card-no-preinit/high/socket/pkcs11.sock')),
      camlCrush: client(cardProxyPaths(join(root, 'card/high')).innerSocket),
      camlCrushDefaultGc: client(''),
      camlCrushUnloaded: client(''),
      p11kit: client(''),
      direct: { module: SOFTHSM_MODULE, env: { ...process.env, SOFTHSM2_CONF: tokenCopy('direct') } },
    };
    // The same level's filter served by a pkcs11proxyd started as before the preload (its uid, its
    // limits, OCaml's default GC; no control group of its own).
    const unloaded = join(root, 'unloaded');
    mkdirSync(join(unloaded, 'netplex'), { recursive: true, mode: 0o700 });
    for (const d of [unloaded, join(unloaded, 'netplex')]) chownSync(d, PROXY_UID, PROXY_UID);
    const unloadedConf = join(root, 'unloaded.conf');
    writeFileSync(unloadedConf, serverConfig('bench', { socket: join(unloaded, 'pkcs11.sock'), netplexDir: join(unloaded, 'netplex'), filterConfig: join(cardProxyPaths(join(root, 'card/high')).configDir, 'filter.conf') }));
    children.push(await started(spawn('setpriv', ['--reuid', String(PROXY_UID), '--regid', String(PROXY_UID), '--clear-groups', '--', 'prlimit', `--as=${PROXY_ADDRESS_SPACE}`, `--nofile=${PROXY_OPEN_FILES}`, 'pkcs11proxyd', '-fg', '-conf', unloadedConf], { detached: true, stdio: 'ignore', env: { PATH: '/usr/bin:/bin', SOFTHSM2_CONF: tokenCopy('unloaded') } }), join(unloaded, 'pkcs11.sock')));
    paths.camlCrushUnloaded = client(join(unloaded, 'pkcs11.sock'));
    paths.camlCrushDefaultGc = client(cardProxyPaths(join(root, 'card-default-gc/high')).innerSocket);
    const p11kitSocket = join(root, 'p11kit.sock');
    children.push(await started(spawn('p11-kit', ['server', '-f', '-n', p11kitSocket, '--provider', SOFTHSM_MODULE, `pkcs11:token=${token.label}`], { detached: true, stdio: 'ignore', env: { ...process.env, SOFTHSM2_CONF: tokenCopy('p11kit') } }), p11kitSocket));
    paths.p11kit = { module: P11KIT_CLIENT, env: { ...process.env, P11_KIT_SERVER_ADDRESS: `unix:path=${p11kitSocket}` } };
    const result: SmartcardSignResult = { wholeMs: empty(), perSignMs: empty(), openMs: empty(), load: [loadavg()[0]!, 0], guardCpuUsPerCall: [], proxyCpuMsPerRun: { camlCrush: 0, camlCrushDefaultGc: 0, noPreinit: 0, noPrefault: 0, noModuleInit: 0, readFill: 0 } };
    // The two pkcs11proxyd whose CPU is read (the level's, found by its configuration's path, and the default-GC one).
    const controllers = { camlCrush: await controllerOf(join(cardProxyPaths(join(root, 'card/high')).configDir, 'pkcs11proxyd.conf')), camlCrushDefaultGc: await controllerOf(join(cardProxyPaths(join(root, 'card-default-gc/high')).configDir, 'pkcs11proxyd.conf')), noPreinit: await controllerOf(join(cardProxyPaths(join(root, 'card-no-preinit/high')).configDir, 'pkcs11proxyd.conf')), noPrefault: await controllerOf(join(cardProxyPaths(join(root, 'card-no-prefault/high')).configDir, 'pkcs11proxyd.conf')), noModuleInit: await controllerOf(join(cardProxyPaths(join(root, 'card-no-module-init/high')).configDir, 'pkcs11proxyd.conf')), readFill: await controllerOf(join(cardProxyPaths(join(root, 'card-read-fill/high')).configDir, 'pkcs11proxyd.conf')) };
    // The level's proxy runs the build's pre-initialisation (or the comparison below is of nothing).
    const preinitLoaded = readFileSync(`/proc/${controllers.camlCrush}/maps`, 'utf8').includes(OPENSSL_PREINIT_NAME);
    log(`the level's pkcs11proxyd ${preinitLoaded ? 'has' : 'has NOT (npm run build makes it, as root)'} the OpenSSL pre-initialisation; "without the pre-initialisation": the same level's proxy and guard without it`);
    const prefaultLoaded = readFileSync(`/proc/${controllers.camlCrush}/maps`, 'utf8').includes(WORKER_PREFAULT_NAME);
    log(`the level's pkcs11proxyd ${prefaultLoaded ? 'has' : 'has NOT (npm run build makes it, as root)'} the workers' page-table fill; "without the page-table fill": the same level's proxy and guard without it`);
    let cpuFrom = { camlCrush: 0, camlCrushDefaultGc: 0, noPreinit: 0, noPrefault: 0, noModuleInit: 0, readFill: 0 };
    // Each round a different path goes first.
    const orders = PATHS.map((_, i) => [...PATHS.slice(i), ...PATHS.slice(0, i)]);
    for (let round = 0; round < ROUNDS; round++) {
      if (round === 6) cpuFrom = { camlCrush: processTreeCpuMs(controllers.camlCrush), camlCrushDefaultGc: processTreeCpuMs(controllers.camlCrushDefaultGc), noPreinit: processTreeCpuMs(controllers.noPreinit), noPrefault: processTreeCpuMs(controllers.noPrefault), noModuleInit: processTreeCpuMs(controllers.noModuleInit), readFill: processTreeCpuMs(controllers.readFill) };
      const probeCpuUs = { proxy: 0, camlCrush: 0 } as Record<Path, number>;
      for (const path of orders[round % orders.length]!) {
        // What the path before left running settles first (a proxy's next waiting worker forked and
        // initialising, its guard's next connection made ahead): else each path pays its predecessor's.
        await new Promise((r) => setTimeout(r, SETTLE_MS));
        const { module, env } = paths[path];
        const start = performance.now();
        await run('pkcs11-tool', ['--module', module, '--login', '--pin', TOKEN_PIN, '--sign', '-m', 'SHA256-RSA-PKCS', '--id', '01', '-i', doc, '-o', join(root, `sig-${path}`)], { env });
        result.wholeMs[path].push(performance.now() - start);
        if (round < 6) {
          const cpu = process.cpuUsage();
          const relayFrom = path === 'proxy' && relayPid ? processTreeCpuMs(relayPid) : 0;
          const { stdout } = await run('python3', [probe, module, 'signs', TOKEN_PIN, String(SIGNS)], { env });
          const used = process.cpuUsage(cpu);
          if (path === 'proxy' && relayPid) used.user += (processTreeCpuMs(relayPid) - relayFrom) * 1000;
          const probed = JSON.parse(stdout) as { perSignMs: number; openMs: number; signFailures: number };
          if (probed.signFailures !== 0) throw new Error(`${path}: ${probed.signFailures} of ${SIGNS} signatures failed`);
          result.perSignMs[path].push(probed.perSignMs);
          result.openMs[path].push(probed.openMs);
          probeCpuUs[path] = used.user + used.system;
        }
      }
      if (round < 6) {
        // This process's CPU through the guard less through Caml Crush alone: starting the probe
        // (a fork of this process, tens of ms under load) is in both and is no cost of the guard.
        // C_SignInit and C_Sign per signature; the session's opening and key search are a few more.
        result.guardCpuUsPerCall.push((probeCpuUs.proxy - probeCpuUs.camlCrush) / (2 * SIGNS));
      }
    }
    // The last workers gone and reaped (each exits when its client closes).
    await new Promise((r) => setTimeout(r, 500));
    // The level's pkcs11proxyd served two runs a round (through the guard and alone), the other one.
    const runsServed = { camlCrush: 2 * (ROUNDS - 6), camlCrushDefaultGc: ROUNDS - 6, noPreinit: ROUNDS - 6, noPrefault: ROUNDS - 6, noModuleInit: ROUNDS - 6, readFill: ROUNDS - 6 };
    for (const path of ['camlCrush', 'camlCrushDefaultGc', 'noPreinit', 'noPrefault', 'noModuleInit', 'readFill'] as const) result.proxyCpuMsPerRun[path] = (processTreeCpuMs(controllers[path]) - cpuFrom[path]) / runsServed[path];
    const line = (values: Record<Path, number[]>, digits: number) => `proxy ${fmt(median(values.proxy), digits)} ms (without the connection made ahead ${fmt(median(values.proxyNotAhead), digits)}; through Debian's client ${fmt(median(values.proxyDebianClient), digits)}; with the workers' read-only pages' fill alone ${fmt(median(values.proxyReadFill), digits)}; without the workers' page-table fill ${fmt(median(values.proxyNoPrefault), digits)}; without the waiting worker's module initialisation ${fmt(median(values.proxyNoModuleInit), digits)}; without the OpenSSL pre-initialisation ${fmt(median(values.proxyNoPreinit), digits)}; Caml Crush alone ${fmt(median(values.camlCrush), digits)}, with OCaml's default GC ${fmt(median(values.camlCrushDefaultGc), digits)}, without the preload ${fmt(median(values.camlCrushUnloaded), digits)}; p11-kit server ${fmt(median(values.p11kit), digits)}), direct ${fmt(median(values.direct), digits)} ms`;
    log(`pkcs11-tool --sign, whole: ${line(result.wholeMs, 2)} (median of ${ROUNDS})`);
    log(`one signature in a session: ${line(result.perSignMs, 3)} (median of 6 × ${SIGNS})`);
    result.load[1] = loadavg()[0]!;
    log(`module loaded to C_Initialize done: ${line(result.openMs, 2)} (median of 6)`);
    log(`load average (1 min): ${fmt(result.load[0], 1)} at the start, ${fmt(result.load[1], 1)} at the end, on ${cpus().length} cores`);
    log(`pkcs11proxyd's CPU (controller and workers) per pkcs11-tool --sign: ${fmt(result.proxyCpuMsPerRun.camlCrush, 1)} ms, with the read-only pages' fill alone ${fmt(result.proxyCpuMsPerRun.readFill, 1)} ms, without the workers' page-table fill ${fmt(result.proxyCpuMsPerRun.noPrefault, 1)} ms, without the waiting worker's module initialisation ${fmt(result.proxyCpuMsPerRun.noModuleInit, 1)} ms, without the OpenSSL pre-initialisation ${fmt(result.proxyCpuMsPerRun.noPreinit, 1)} ms, with OCaml's default GC ${fmt(result.proxyCpuMsPerRun.camlCrushDefaultGc, 1)} ms (over the last ${ROUNDS - 6} rounds; a worker forked and ended per run)`);
    // A round's proxy and direct runs came within a tenth of a second of each other: less at the mercy of the load's swings than the medians' ratio.
    const roundsRatio = (path: Path) => fmt(median(result.wholeMs[path].map((ms, i) => ms / result.wholeMs.direct[i]!)), 2);
    log(`pkcs11-tool --sign through the proxy/directly, median of the rounds' ratios: ${roundsRatio('proxy')} (without the connection made ahead ${roundsRatio('proxyNotAhead')}; through Debian's client ${roundsRatio('proxyDebianClient')}; with the read-only pages' fill alone ${roundsRatio('proxyReadFill')}; without the workers' page-table fill ${roundsRatio('proxyNoPrefault')}; without the waiting worker's module initialisation ${roundsRatio('proxyNoModuleInit')}; without the OpenSSL pre-initialisation ${roundsRatio('proxyNoPreinit')}; Caml Crush alone ${roundsRatio('camlCrush')})`);
    log(`the guard's CPU per relayed call: ${fmt(median(result.guardCpuUsPerCall), 1)} µs (median of 6; through the guard less through Caml Crush alone, this process's ${relayPid ? 'and its relay program\'s (10 ms ticks)' : 'alone (no relay program: the guard relays in Node)'}; the key search's calls counted in)`);
    return result;
  } finally {
    for (const child of children) stopGroup(child);
    await broker.close();
    await defaultGcBroker.close();
    await noPreinitBroker.close();
    await noPrefaultBroker.close();
    await noModuleInitBroker.close();
    await notAheadBroker.close();
    await readFillBroker.close();
    rmSync(root, { recursive: true, force: true, maxRetries: 5 });
  }
}

/** Waits for a server's socket; fails with the server's exit if it goes first. */
async function started(child: ChildProcess, socket: string): Promise<ChildProcess> {
  const deadline = Date.now() + 10_000;
  while (!existsSync(socket)) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`${child.spawnfile} exited at start`);
    if (Date.now() > deadline) throw new Error(`${child.spawnfile} made no socket ${socket}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return child;
}

/** The oldest process running with this configuration: the pkcs11proxyd controller its workers fork from. */
async function controllerOf(conf: string): Promise<number> {
  const { stdout } = await run('pgrep', ['-o', '-f', `pkcs11proxyd -fg -conf ${conf}$`]);
  return Number(stdout.trim());
}

/** A process's CPU and that of its children it reaped (its workers once ended), in ms. */
function processTreeCpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  // utime, stime, cutime, cstime: fields 14-17, in clock ticks (100 a second on Linux).
  return fields.slice(11, 15).reduce((sum, f) => sum + Number(f), 0) * 10;
}

/** Ends a server started here and every worker it forked (its own process group). */
function stopGroup(child: ChildProcess): void {
  try {
    process.kill(-child.pid!, 'SIGKILL');
  } catch {
    // already gone
  }
}
