/**
 * Smart card signature: through a level's filtering proxy (the supervisor's record guard, Caml
 * Crush's pkcs11proxyd and its filter, the client module a cage uses) against the token directly
 * (the same SoftHSM2 module loaded in the signing process), in the same run, the paths taking turns.
 *
 * Two figures: a whole `pkcs11-tool --sign` (start, connect, log in, find the key, sign — what an
 * application's first signature costs), and one signature in an open, logged-in session
 * (C_SignInit + C_Sign, 200 in a row: what each further signature costs). A third says what the
 * guard's spare connection (spareUpstream.ts) saves: from loading the module to C_Initialize done,
 * in the signing processes — through the guard the opening calls are answered from the spare,
 * through Caml Crush alone a worker takes the connection, loads and initialises the module.
 *
 * A third path splits the proxy's cost: Caml Crush's own socket, the guard left out (root may
 * connect there; a cage never can). And the guard's CPU per relayed call, read off this process
 * (the guard runs here, as in the supervisor): less at the mercy of the machine's load than latency.
 */
import { execFile } from 'node:child_process';
import { chmodSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { smartcardPolicySchema } from '../shared/smartcardPolicy';
import { CARD_CLIENT_MODULE } from '../supervisor/smartcard/cageCardEndpoint';
import { CARD_ALIAS } from '../supervisor/smartcard/cardFilterConfig';
import { cardProxyPaths } from '../supervisor/smartcard/levelCardProxy';
import { SmartcardBroker } from '../supervisor/smartcard/smartcardBroker';
import { testRoot } from '../supervisor/testing/realCage';
import { makeSoftToken, SOFTHSM_MODULE, TOKEN_PIN } from '../supervisor/testing/softToken';
import { fmt, median } from './lib/stats';

const run = promisify(execFile);
const PROXY_UID = 64_600;
const ROUNDS = 15;
const SIGNS = 200;

type Path = 'proxy' | 'camlCrush' | 'direct';

export interface SmartcardSignResult {
  wholeMs: Record<Path, number[]>;
  perSignMs: Record<Path, number[]>;
  /** Loading the module to C_Initialize done, in the signing processes. */
  openMs: Record<Path, number[]>;
  /** The machine's load average (1 min) at the start and the end. */
  load: [number, number];
  /** CPU time of this process (the guard's relay) per RPC call relayed, in the signing loops. */
  guardCpuUsPerCall: number[];
}

export async function runSmartcardSignBench(log: (s: string) => void): Promise<SmartcardSignResult> {
  const root = testRoot('cloison-scb-');
  chmodSync(root, 0o711);
  const token = makeSoftToken(join(root, 'token'), PROXY_UID);
  const policy = smartcardPolicySchema.parse({ module: SOFTHSM_MODULE, levels: { high: { objects: ['high-sign'], uid: PROXY_UID } }, environment: { SOFTHSM2_CONF: token.conf } });
  const broker = new SmartcardBroker({ policy: { current: () => ({ smartcard: policy }) }, dir: join(root, 'card'), cageGid: () => 0, record: () => {} });
  const doc = join(root, 'doc');
  writeFileSync(doc, 'document\n');
  const probe = fileURLToPath(new URL('../supervisor/testing/pkcs11Probe.py', import.meta.url));
  try {
    broker.endpoint('high');
    await broker.start();
    const socket = join(root, 'card/high/socket/pkcs11.sock');
    const client = (to: string) => ({ module: CARD_CLIENT_MODULE, env: { ...process.env, PKCS11PROXY_SOCKET_PATH: to, PKCS11PROXY_LIBNAME: CARD_ALIAS } });
    const paths: Record<Path, { module: string; env: NodeJS.ProcessEnv }> = {
      proxy: client(socket),
      camlCrush: client(cardProxyPaths(join(root, 'card/high')).innerSocket),
      direct: { module: SOFTHSM_MODULE, env: { ...process.env, SOFTHSM2_CONF: token.conf } },
    };
    const result: SmartcardSignResult = { wholeMs: { proxy: [], camlCrush: [], direct: [] }, perSignMs: { proxy: [], camlCrush: [], direct: [] }, openMs: { proxy: [], camlCrush: [], direct: [] }, load: [loadavg()[0]!, 0], guardCpuUsPerCall: [] };
    const orders: Path[][] = [['proxy', 'camlCrush', 'direct'], ['direct', 'proxy', 'camlCrush'], ['camlCrush', 'direct', 'proxy']];
    for (let round = 0; round < ROUNDS; round++) {
      for (const path of orders[round % orders.length]!) {
        const { module, env } = paths[path];
        const start = performance.now();
        await run('pkcs11-tool', ['--module', module, '--login', '--pin', TOKEN_PIN, '--sign', '-m', 'SHA256-RSA-PKCS', '--id', '01', '-i', doc, '-o', join(root, `sig-${path}`)], { env });
        result.wholeMs[path].push(performance.now() - start);
        if (round < 6) {
          const cpu = process.cpuUsage();
          const { stdout } = await run('python3', [probe, module, 'signs', TOKEN_PIN, String(SIGNS)], { env });
          const used = process.cpuUsage(cpu);
          const probed = JSON.parse(stdout) as { perSignMs: number; openMs: number };
          result.perSignMs[path].push(probed.perSignMs);
          result.openMs[path].push(probed.openMs);
          // C_SignInit and C_Sign per signature; the session's opening and key search are a few more.
          if (path === 'proxy') result.guardCpuUsPerCall.push((used.user + used.system) / (2 * SIGNS));
        }
      }
    }
    const line = (values: Record<Path, number[]>, digits: number) => `proxy ${fmt(median(values.proxy), digits)} ms (Caml Crush alone ${fmt(median(values.camlCrush), digits)}), direct ${fmt(median(values.direct), digits)} ms`;
    log(`pkcs11-tool --sign, whole: ${line(result.wholeMs, 2)} (median of ${ROUNDS})`);
    log(`one signature in a session: ${line(result.perSignMs, 3)} (median of 6 × ${SIGNS})`);
    result.load[1] = loadavg()[0]!;
    log(`module loaded to C_Initialize done: ${line(result.openMs, 2)} (median of 6)`);
    log(`load average (1 min): ${fmt(result.load[0], 1)} at the start, ${fmt(result.load[1], 1)} at the end, on ${cpus().length} cores`);
    log(`the guard's CPU per relayed call: ${fmt(median(result.guardCpuUsPerCall), 1)} µs (median of 6; the key search's calls counted in)`);
    return result;
  } finally {
    await broker.close();
    rmSync(root, { recursive: true, force: true, maxRetries: 5 });
  }
}
