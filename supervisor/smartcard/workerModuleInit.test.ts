/**
 * The workers' module initialisation preloaded into a level's card proxy (workerModuleInit.ts):
 * with the library the build makes, the worker that takes an application's connection initialises
 * the module in a thread of its own begun at the accept (SoftHSM2 reads its configuration file in
 * its C_Initialize alone: a thread other than the worker's main one opens it), never before the
 * accept (the token read is the connection's), and the card signs; with or without it, a cage that
 * leaves C_Initialize out of its calls gets what the module answers then,
 * CKR_CRYPTOKI_NOT_INITIALIZED, and no slot.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { skipWhenMissing } from '../testing/skipWithReason';
import { cardTestRoot, missingForCardTest } from '../testing/cardFixture';
import { withHighCardProxy } from '../testing/highCardProxy';
import { type SoftToken } from '../testing/softToken';

const run = promisify(execFile);
const missing = missingForCardTest('workers\' module initialisation tests', { cages: false, programs: ['gcc', 'strace', 'python3'] });
const PROXY_UID = 52_800 + (process.pid % 50);
const CKR_CRYPTOKI_NOT_INITIALIZED = 0x190;
const PROBE = join(__dirname, '../testing/rawSocketProbe.py');

describe('the card proxy workers\' module initialisation', skipWhenMissing(missing), () => {
  let root: string;
  let token: SoftToken;
  let doc: string;

  /**
   * A proxy for high preloading `library` (null: none): what its controller maps, the files the
   * worker serving a signature opened while it served, the signature, and a connection's answers
   * when it leaves C_Initialize out.
   */
  const serve = (name: string, library: string | null) => {
    const dir = join(root, `card-${name}`);
    return withHighCardProxy(dir, token, PROXY_UID, { workerModuleInit: library }, async (proxy) => {
      // The waiting worker's start over (it is the controller's only child then).
      await new Promise((r) => setTimeout(r, 1000));
      const waiting = execFileSync('pgrep', ['-P', proxy.controller], { encoding: 'utf8' }).trim().split('\n');
      expect(waiting).toHaveLength(1);
      const trace = join(root, `opened-${name}`);
      const tracer = spawn('strace', ['-f', '-qq', '-e', 'trace=openat,open,accept,accept4', '-o', trace, '-p', waiting[0]!], { stdio: 'ignore' });
      const traced = new Promise((resolve) => tracer.on('exit', resolve));
      // strace says nothing when it is attached: a moment for it.
      await new Promise((r) => setTimeout(r, 500));
      const signed = await proxy.sign(doc, join(root, `sig-${name}`));
      // The worker ends when its application closes the connection; strace with it.
      await traced;
      const { stdout } = await run('python3', [PROBE, join(dir, 'high', 'socket', 'pkcs11.sock'), 'uninitialised']);
      return { mapped: proxy.mapped, worker: waiting[0]!, ...tracedCalls(readFileSync(trace, 'utf8'), token.conf), signed, uninitialised: JSON.parse(stdout) as { getSlotList: number; finalize: number } };
    });
  };

  /**
   * Of a strace -f of the worker: which task opened SoftHSM2's configuration, and whether it (or
   * any file of the token) was opened before the worker's first accept returned a connection.
   */
  const tracedCalls = (lines: string, conf: string) => {
    const calls = lines.split('\n');
    const accepted = calls.findIndex((line) => /accept4?\(.*\) = \d+/.test(line) || /<\.\.\. accept4? resumed>.* = \d+/.test(line));
    const confAt = calls.findIndex((line) => line.includes(conf));
    const beforeAccept = calls.slice(0, Math.max(accepted, 0)).filter((line) => line.includes(conf) || line.includes(join(root, 'token')));
    return { accepted: accepted >= 0, confOpenedBy: confAt >= 0 ? calls[confAt]!.split(' ')[0] : null, openedBeforeAccept: beforeAccept, opened: lines };
  };

  beforeAll(() => {
    ({ root, token } = cardTestRoot('cloison-wmi-', PROXY_UID));
    doc = join(root, 'doc');
    writeFileSync(doc, 'document\n');
  }, 60_000);

  it('with the library the build makes, the served worker initialises the module in a thread begun at its accept (another task opens the configuration, nothing of the token is read before the accept), the card signs, and a connection without C_Initialize is refused as before', async () => {
    const libs = join(root, 'built');
    mkdirSync(libs, { mode: 0o755 });
    const library = join(libs, 'workerModuleInit.so');
    execFileSync(process.execPath, ['scripts/buildOpensslPreinit.mjs', 'supervisor/smartcard/native/workerModuleInit.c', library], { stdio: 'pipe' });
    const served = await serve('built', library);
    expect(served.mapped).toContain(library);
    // The trace saw the worker's calls (its accept, the token's object files read for the signature)...
    expect(served.accepted).toBe(true);
    expect(served.opened).toContain(join(root, 'token'));
    // ...SoftHSM2's configuration, which its C_Initialize reads, opened by a thread of the worker...
    expect(served.confOpenedBy).not.toBeNull();
    expect(served.confOpenedBy).not.toBe(served.worker);
    // ...and neither it nor the token opened before the connection was accepted.
    expect(served.openedBeforeAccept).toEqual([]);
    expect(served.signed).toBe(256);
    expect(served.uninitialised).toEqual({ getSlotList: CKR_CRYPTOKI_NOT_INITIALIZED, finalize: CKR_CRYPTOKI_NOT_INITIALIZED });
  }, 60_000);

  it('without it, the served worker initialises the module while the application waits (it opens the configuration), the card signs, and a connection without C_Initialize gets the same refusal', async () => {
    const served = await serve('without', null);
    expect(served.mapped).not.toContain('workerModuleInit');
    expect(served.accepted).toBe(true);
    expect(served.confOpenedBy).toBe(served.worker);
    expect(served.openedBeforeAccept).toEqual([]);
    expect(served.signed).toBe(256);
    expect(served.uninitialised).toEqual({ getSlotList: CKR_CRYPTOKI_NOT_INITIALIZED, finalize: CKR_CRYPTOKI_NOT_INITIALIZED });
  }, 60_000);
});
