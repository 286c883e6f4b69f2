/**
 * One card proxy serving high alone on a test token, started by a real SmartcardBroker with the
 * options a test varies (the libraries preloaded into pkcs11proxyd): its controller's pid and maps,
 * and a whole `pkcs11-tool --sign` through it, as a cage's application makes one.
 */
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { smartcardPolicySchema } from '../../shared/smartcardPolicy';
import { CARD_CLIENT_MODULE } from '../smartcard/cageCardEndpoint';
import { CARD_ALIAS } from '../smartcard/cardFilterConfig';
import { SmartcardBroker, type SmartcardBrokerOptions } from '../smartcard/smartcardBroker';
import { SOFTHSM_MODULE, TOKEN_PIN, type SoftToken } from './softToken';

const run = promisify(execFile);

export interface HighCardProxy {
  controller: string;
  /** The controller's /proc maps once started. */
  mapped: string;
  /** Signs `doc` with high's key into `output`; the signature's length. Not synchronous: the guard relaying it runs in this process. */
  sign(doc: string, output: string): Promise<number>;
}

export async function withHighCardProxy<T>(dir: string, token: SoftToken, uid: number, extra: Partial<SmartcardBrokerOptions>, use: (proxy: HighCardProxy) => Promise<T>): Promise<T> {
  const policy = smartcardPolicySchema.parse({ module: SOFTHSM_MODULE, levels: { high: { objects: ['high-sign'], uid } }, environment: { SOFTHSM2_CONF: token.conf } });
  const broker = new SmartcardBroker({ policy: { current: () => ({ smartcard: policy }) }, dir, cageGid: () => 0, record: () => {}, ...extra });
  try {
    broker.endpoint('high');
    await broker.start();
    const socket = join(dir, 'high', 'socket', 'pkcs11.sock');
    const controller = execFileSync('pgrep', ['-o', '-f', `pkcs11proxyd -fg -conf ${dir}`], { encoding: 'utf8' }).trim();
    const mapped = readFileSync(`/proc/${controller}/maps`, 'utf8');
    const sign = async (doc: string, output: string) => {
      await run('pkcs11-tool', ['--module', CARD_CLIENT_MODULE, '--login', '--pin', TOKEN_PIN, '--sign', '-m', 'SHA256-RSA-PKCS', '--id', '01', '-i', doc, '-o', output], { env: { PATH: '/usr/bin:/bin', PKCS11PROXY_SOCKET_PATH: socket, PKCS11PROXY_LIBNAME: CARD_ALIAS } });
      return readFileSync(output).length;
    };
    return await use({ controller, mapped, sign });
  } finally {
    await broker.close();
  }
}
