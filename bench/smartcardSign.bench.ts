/**
 * Smart card signature: through a level's filtering proxy (the supervisor's record guard, Caml
 * Crush's pkcs11proxyd and its filter, the client module a cage uses) against the token directly
 * (the same SoftHSM2 module loaded in the signing process), in the same run, the paths taking turns.
 *
 * Two figures: a whole `pkcs11-tool --sign` (start, connect, log in, find the key, sign — what an
 * application's first signature costs), and one signature in an open, logged-in session
 * (C_SignInit + C_Sign, 200 in a row: what each further signature costs).
 */
import { execFile } from 'node:child_process';
import { chmodSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { smartcardPolicySchema } from '../shared/smartcardPolicy';
import { CARD_CLIENT_MODULE } from '../supervisor/smartcard/cageCardEndpoint';
import { CARD_ALIAS } from '../supervisor/smartcard/cardFilterConfig';
import { SmartcardBroker } from '../supervisor/smartcard/smartcardBroker';
import { testRoot } from '../supervisor/testing/realCage';
import { makeSoftToken, SOFTHSM_MODULE, TOKEN_PIN } from '../supervisor/testing/softToken';
import { fmt, median } from './lib/stats';

const run = promisify(execFile);
const PROXY_UID = 64_600;
const ROUNDS = 15;
const SIGNS = 200;

export interface SmartcardSignResult {
  wholeMs: { proxy: number[]; direct: number[] };
  perSignMs: { proxy: number[]; direct: number[] };
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
    const paths = {
      proxy: { module: CARD_CLIENT_MODULE, env: { ...process.env, PKCS11PROXY_SOCKET_PATH: socket, PKCS11PROXY_LIBNAME: CARD_ALIAS } },
      direct: { module: SOFTHSM_MODULE, env: { ...process.env, SOFTHSM2_CONF: token.conf } },
    } as const;
    const result: SmartcardSignResult = { wholeMs: { proxy: [], direct: [] }, perSignMs: { proxy: [], direct: [] } };
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? (['proxy', 'direct'] as const) : (['direct', 'proxy'] as const);
      for (const path of order) {
        const { module, env } = paths[path];
        const start = performance.now();
        await run('pkcs11-tool', ['--module', module, '--login', '--pin', TOKEN_PIN, '--sign', '-m', 'SHA256-RSA-PKCS', '--id', '01', '-i', doc, '-o', join(root, `sig-${path}`)], { env });
        result.wholeMs[path].push(performance.now() - start);
        if (round < 5) {
          const { stdout } = await run('python3', [probe, module, 'signs', TOKEN_PIN, String(SIGNS)], { env });
          result.perSignMs[path].push((JSON.parse(stdout) as { perSignMs: number }).perSignMs);
        }
      }
    }
    log(`pkcs11-tool --sign, whole: proxy ${fmt(median(result.wholeMs.proxy))} ms, direct ${fmt(median(result.wholeMs.direct))} ms (median of ${ROUNDS})`);
    log(`one signature in a session: proxy ${fmt(median(result.perSignMs.proxy), 3)} ms, direct ${fmt(median(result.perSignMs.direct), 3)} ms (median of 5 × ${SIGNS})`);
    return result;
  } finally {
    await broker.close();
    rmSync(root, { recursive: true, force: true, maxRetries: 5 });
  }
}
