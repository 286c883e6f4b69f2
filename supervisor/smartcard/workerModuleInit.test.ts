/**
 * The waiting worker's module initialisation preloaded into a level's card proxy
 * (workerModuleInit.ts), with the library the build makes: the worker initialises SoftHSM2 before
 * its connection (it does not open the configuration after its accept), and its view of the token
 * stays the token's: applications logging in one after the other never meet a spare that read
 * the token while a login rewrote it ("Token not initialized",
 * CKR_USER_PIN_NOT_INITIALIZED: card-5's race); an object another connection adds or removes is
 * seen by the next one; a cage that leaves C_Initialize out of its calls gets
 * CKR_CRYPTOKI_NOT_INITIALIZED and no slot, as from the module itself.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { skipWhenMissing } from '../testing/skipWithReason';
import { cardTestRoot, missingForCardTest } from '../testing/cardFixture';
import { withHighCardProxy, type HighCardProxy } from '../testing/highCardProxy';
import { SOFTHSM_MODULE, TOKEN_PIN, type SoftToken } from '../testing/softToken';
import { CARD_CLIENT_MODULE } from './cageCardEndpoint';
import { CARD_ALIAS } from './cardFilterConfig';

const run = promisify(execFile);
const missing = missingForCardTest('workers\' module initialisation tests', { cages: false, programs: ['gcc', 'strace', 'python3'] });
// High's proxy, and low's (+ 1) for the token's group: two uids of 52900–52949 per process.
const PROXY_UID = 52_900 + 2 * (process.pid % 25);
const CKR_CRYPTOKI_NOT_INITIALIZED = 0x190;
const PROBE = join(__dirname, '../testing/rawSocketProbe.py');

describe('the card proxy workers\' module initialisation', skipWhenMissing(missing), () => {
  let root: string;
  let token: SoftToken;
  let doc: string;
  let library: string;

  const socketOf = (dir: string) => join(dir, 'high', 'socket', 'pkcs11.sock');
  const through = (dir: string, args: string[]) => run('pkcs11-tool', ['--module', CARD_CLIENT_MODULE, ...args], { env: { PATH: '/usr/bin:/bin', PKCS11PROXY_SOCKET_PATH: socketOf(dir), PKCS11PROXY_LIBNAME: CARD_ALIAS } });

  /** One application's signature: its error output when it failed, else null. */
  const signOnce = async (proxy: HighCardProxy, output: string): Promise<string | null> => {
    try {
      expect(await proxy.sign(doc, output)).toBe(256);
      return null;
    } catch (error) {
      return String((error as { stderr?: string }).stderr ?? error);
    }
  };

  /**
   * Of a strace -f of the waiting worker: whether it accepted, and whether SoftHSM2's
   * configuration (read by C_Initialize alone) was opened after the accept.
   */
  const confAfterAccept = (lines: string, conf: string) => {
    const calls = lines.split('\n');
    const accepted = calls.findIndex((line) => /accept4?\(.*\) = \d+/.test(line) || /<\.\.\. accept4? resumed>.* = \d+/.test(line));
    return { accepted: accepted >= 0, confAfter: calls.slice(accepted + 1).some((line) => line.includes(conf)) };
  };

  /** The next connection's worker traced while it serves one signature (the spare settled first). */
  const traceServed = async (name: string, dir: string, proxy: HighCardProxy) => {
    await new Promise((r) => setTimeout(r, 1000));
    const waiting = execFileSync('pgrep', ['-P', proxy.controller], { encoding: 'utf8' }).trim().split('\n');
    expect(waiting).toHaveLength(1);
    const trace = join(root, `trace-${name}`);
    const tracer = spawn('strace', ['-f', '-qq', '-e', 'trace=openat,open,accept,accept4', '-o', trace, '-p', waiting[0]!], { stdio: 'ignore' });
    const traced = new Promise((resolve) => tracer.on('exit', resolve));
    await new Promise((r) => setTimeout(r, 500));
    const signed = await proxy.sign(doc, join(root, `sig-${name}`));
    await traced;
    const { stdout } = await run('python3', [PROBE, socketOf(dir), 'uninitialised']);
    return { signed, ...confAfterAccept(readFileSync(trace, 'utf8'), token.conf), uninitialised: JSON.parse(stdout) as { getSlotList: number; finalize: number } };
  };

  beforeAll(() => {
    ({ root, token } = cardTestRoot('cloison-wmi-', PROXY_UID));
    doc = join(root, 'doc');
    writeFileSync(doc, 'document\n');
    const libs = join(root, 'built');
    mkdirSync(libs, { mode: 0o755 });
    library = join(libs, 'workerModuleInit.so');
    execFileSync(process.execPath, ['scripts/buildOpensslPreinit.mjs', 'supervisor/smartcard/native/workerModuleInit.c', library], { stdio: 'pipe' });
  }, 60_000);

  it('with the library, the served worker had initialised the module before its connection (no configuration read after its accept), the card signs, and a connection without C_Initialize is refused as by the module', async () => {
    const dir = join(root, 'card-built');
    const served = await withHighCardProxy(dir, token, PROXY_UID, { workerModuleInit: library, connectAhead: false }, async (proxy) => {
      expect(proxy.mapped).toContain(library);
      return traceServed('built', dir, proxy);
    });
    expect(served.accepted).toBe(true);
    expect(served.confAfter).toBe(false);
    expect(served.signed).toBe(256);
    expect(served.uninitialised).toEqual({ getSlotList: CKR_CRYPTOKI_NOT_INITIALIZED, finalize: CKR_CRYPTOKI_NOT_INITIALIZED });
  }, 60_000);

  it('without it, the served worker reads the configuration after its accept, the card signs, and the same refusal', async () => {
    const dir = join(root, 'card-without');
    const served = await withHighCardProxy(dir, token, PROXY_UID, { workerModuleInit: null, connectAhead: false }, async (proxy) => {
      expect(proxy.mapped).not.toContain('workerModuleInit');
      return traceServed('without', dir, proxy);
    });
    expect(served.accepted).toBe(true);
    expect(served.confAfter).toBe(true);
    expect(served.signed).toBe(256);
    expect(served.uninitialised).toEqual({ getSlotList: CKR_CRYPTOKI_NOT_INITIALIZED, finalize: CKR_CRYPTOKI_NOT_INITIALIZED });
  }, 60_000);

  it('applications logging in and signing one after the other (60 twice) all sign, and two at once (25 times) never meet a spare that kept a token read while a login rewrote it', async () => {
    const dir = join(root, 'card-race');
    const failures = await withHighCardProxy(dir, token, PROXY_UID, { workerModuleInit: library }, async (proxy) => {
      const sequential: string[] = [];
      const pairs: string[] = [];
      for (let i = 0; i < 60; i++) {
        for (const twice of ['a', 'b']) {
          const error = await signOnce(proxy, join(root, `race-${i}${twice}`));
          if (error !== null) sequential.push(`${i}${twice}: ${error}`);
        }
      }
      for (let i = 0; i < 25; i++) {
        const errors = await Promise.all([signOnce(proxy, join(root, `pair-${i}a`)), signOnce(proxy, join(root, `pair-${i}b`))]);
        for (const error of errors) if (error !== null) pairs.push(`${i}: ${error}`);
      }
      return { sequential, pairs };
    });
    expect(failures.sequential).toEqual([]);
    // Two applications at the same instant meet SoftHSM2's own race, without this library too (one's
    // login rewriting token.object while the other reads it: CKR_GENERAL_ERROR, and "Token not
    // initialized" in about 1 pair of 150 at load 8 — attack-9's A/B): no message tells the two
    // apart there, so card-5's race is held by the sequential runs above (a spare reading the token
    // while the previous application's login rewrote it), and two at once must mostly sign (0 to 4 of
    // 50 failed so, CKR_GENERAL_ERROR or "Token not initialized", in runs at load 2–10).
    if (failures.pairs.length > 0) console.warn(`two at once: ${failures.pairs.length} of 50 failed, as SoftHSM2 alone does now and then:`, failures.pairs);
    expect(failures.pairs.length, 'signatures of 50 made two at once that failed').toBeLessThanOrEqual(12);
  }, 400_000);

  it('an object another connection adds to the token is listed by the next connection, and gone from the one after its removal', async () => {
    const dir = join(root, 'card-objects');
    const data = join(root, 'data');
    writeFileSync(data, 'added\n');
    // Another application of the token's owner (the proxy's uid), on the module directly.
    const direct = (args: string[]) => execFileSync('setpriv', ['--reuid', String(PROXY_UID), '--regid', String(PROXY_UID), '--clear-groups', 'pkcs11-tool', '--module', SOFTHSM_MODULE, '--login', '--pin', TOKEN_PIN, ...args], { env: { PATH: '/usr/bin:/bin', SOFTHSM2_CONF: token.conf }, stdio: 'pipe' });
    const listed = async () => (await through(dir, ['--login', '--pin', TOKEN_PIN, '--list-objects'])).stdout;
    const seen = await withHighCardProxy(dir, token, PROXY_UID, { workerModuleInit: library }, async () => {
      const before = await listed();
      direct(['--write-object', data, '--type', 'data', '--label', 'high-sign', '--id', '05']);
      const added = await listed();
      direct(['--delete-object', '--type', 'data', '--label', 'high-sign']);
      const removed = await listed();
      return { before, added, removed };
    });
    expect(seen.before).toContain('high-sign');
    expect(seen.before).not.toContain('Data object');
    expect(seen.added).toContain('Data object');
    expect(seen.removed).not.toContain('Data object');
  }, 60_000);
});
