/**
 * The smart card when the supervisor is the cloison part: a real manager server (root) running the
 * real `card.proxy` and `card.socket` executors (Caml Crush's pkcs11proxyd as the level's proxy
 * uid, a SoftHSM2 token), and the supervisor's own SmartcardBroker in a real process of the
 * `cloison` account (cardThroughManagerPart.testTool.ts), its guards relaying to connections the
 * manager hands it.
 *
 * What the user sees: pkcs11-tool in high's real cage (started by the manager's cage.start, which
 * binds the level's card folder) lists high's objects and not low's through the part's guard and
 * logs in, the filter's refusal of a denied call journaled by the part; low's cage uid cannot
 * connect to high's socket; once the part closes its broker, no pkcs11proxyd of the manager's is
 * left. A compromised
 * part asking for low's proxy (the policy gives low no card), for high's with a filter and module
 * of its own, or for a card connection of low's is refused and journaled.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipWhenMissing } from '../testing/skipWithReason';
import { parsePolicy } from '../policy/policyLoader';
import { CAGE_CARD_CLIENT_MODULE, CARD_CLIENT_MODULE } from '../smartcard/cageCardEndpoint';
import { CARD_ALIAS } from '../smartcard/cardFilterConfig';
import { CARD_SOCKET_NAME } from '../smartcard/levelCardProxy';
import { serveManagerToCloison, type ServedManager } from '../testing/managerServedToCloison';
import { cardPolicy, cardSection, cardTestRoot, missingForCardTest } from '../testing/cardFixture';
import { TOKEN_PIN, type SoftToken } from '../testing/softToken';
import { ManagedCages } from './managedCages';
import { launcherShell } from '../testing/realCage';

const missing = missingForCardTest('card through the manager test');
if (!missing.length && !readdirSync('/usr/lib/x86_64-linux-gnu/caml-crush').includes('libp11clientunix.so')) missing.push(CARD_CLIENT_MODULE);

const BASE = 54_400 + (process.pid % 50) * 4;
const PROXY_UID = BASE;
const UIDS = { low: BASE + 2, high: BASE + 3 };

let root: string;
let manager: ServedManager;
const cages = new ManagedCages();
let policyText: string;
let token: SoftToken;

beforeAll(async () => {
  if (missing.length) return;
  ({ root, token } = cardTestRoot('cloison-cardmgr-', PROXY_UID));
  policyText = cardPolicy(UIDS, cardSection(token, PROXY_UID, { high: ['high-sign', 'high-secret'] }));
  // The manager's whole table, its part's uid known: cage.start binds high's card folder.
  manager = await serveManagerToCloison({ root, policy: () => parsePolicy(policyText, 'p.yaml'), cages, holdsCage: true, table: (cloison) => ({ partUid: cloison.uid }) });
}, 60_000);

afterAll(async () => {
  await manager?.close();
}, 60_000);

/** The manager's card folder (its run folder's `-card`), where the part's broker works too. */
const cardDir = () => join(root, 'run-card');

type Report = { step: string } & Record<string, unknown>;

async function runPart(mode: 'serve' | 'attack' | 'exclusive' | 'give' | 'restart' | 'reload', onStep: (r: Report) => Promise<void> = async () => undefined): Promise<Report[]> {
  const reports: Report[] = [];
  try {
    await manager.runPart(join(__dirname, 'cardThroughManagerPart.testTool.ts'), { managerSocket: manager.socketPath, policy: policyText, mode, goFile: join(root, `go-${mode}`), cardDir: cardDir() }, {
      message: (m, fail) => {
        if (m.type !== 'report') return;
        reports.push(m as unknown as Report);
        onStep(m as unknown as Report).catch(fail);
      },
    });
    return reports;
  } finally {
    await manager.stopPart();
  }
}

/** pkcs11-tool as an application of the cage would run it, on the part's guard socket (not blocking: the manager serves in this process). */
function tool(socket: string, args: string[], uid: number): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile('setpriv', ['--reuid', String(uid), '--regid', String(uid), '--clear-groups', 'pkcs11-tool', '--module', CARD_CLIENT_MODULE, ...args], { env: { PATH: '/usr/bin:/bin', PKCS11PROXY_SOCKET_PATH: socket, PKCS11PROXY_LIBNAME: CARD_ALIAS }, encoding: 'utf8', timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, out: `${stdout}${stderr}` });
    });
  });
}

/** pkcs11proxyd processes started from the manager's card folder. */
function managerProxies(): string[] {
  return readdirSync('/proc').filter((pid) => /^\d+$/.test(pid)).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(cardDir()) && readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'pkcs11proxyd';
    } catch {
      return false;
    }
  });
}

describe('the smart card through the cage manager (the cloison part\'s broker)', skipWhenMissing(missing), () => {
  it('an application in high\'s cage (started by the manager\'s cage.start, which binds the card folder) lists high\'s objects only through the part\'s guard and logs in, low\'s cage uid cannot reach it; closed, no proxy of the manager\'s is left', async () => {
    const seen: Record<string, { code: number; out: string }> = {};
    const reports = await runPart('serve', async (r) => {
      if (r.step !== 'serving') return;
      // high's cage, started after the card (as the supervisor starts them) by the manager's cage.start.
      await manager.table!.executors['cage.start']!({ op: 'cage.start', level: 'high', uid: UIDS.high }, { pid: process.pid, uid: manager.cloison.uid, gid: manager.cloison.gid });
      const inHigh = launcherShell(cages.cage('high')!);
      const socket = join(r.socketDir as string, CARD_SOCKET_NAME);
      const listed = await inHigh(`pkcs11-tool --module ${CAGE_CARD_CLIENT_MODULE} --login --pin ${TOKEN_PIN} -O 2>&1`, 60_000);
      seen.list = { code: listed.code, out: listed.stdout };
      // low's cage uid, as a process of low's would reach it (its folder is high's cage's group's).
      seen.low = await tool(socket, ['-O'], UIDS.low);
      seen.proxies = { code: managerProxies().length, out: '' };
      writeFileSync(join(root, 'go-serve'), '');
    });
    console.log(JSON.stringify(reports), JSON.stringify(seen));
    expect(reports.find((r) => r.step === 'serving')).toMatchObject({ endpoint: null });
    expect(seen.low!.code).not.toBe(0);
    expect(seen.low!.out).not.toContain('high-sign');
    expect(seen.list!.code, seen.list!.out).toBe(0);
    expect(seen.list!.out).toContain('label:      high-sign');
    expect(seen.list!.out).toContain('label:      high-secret');
    expect(seen.list!.out).not.toContain('low-auth');
    expect(seen.proxies!.code).toBeGreaterThan(0);
    const journalled = reports.find((r) => r.step === 'journal')!.records as Array<{ kind: string; fields: Record<string, unknown> }>;
    expect(journalled).toContainEqual({ kind: 'smartcard.login', fields: { level: 'high', ok: true } });
    // The filter's refusal (the secret's value) seen and journaled by the part's guard.
    expect(journalled).toContainEqual({ kind: 'smartcard.refused', fields: expect.objectContaining({ level: 'high', function: 'C_GetAttributeValue', label: 'high-secret' }) });
    expect(reports.some((r) => r.step === 'closed')).toBe(true);
    expect(managerProxies()).toEqual([]);
    await cages.cage('high')?.stop();
  }, 180_000);

  it('a compromised part: low\'s proxy, a filter and module of its own, low\'s card connection, high\'s while stopped: refused, the refusals journaled', async () => {
    const before = manager.refusals().length;
    const reports = await runPart('attack');
    console.log(JSON.stringify(reports));
    expect(reports.find((r) => r.step === 'attacks')).toMatchObject({
      lowProxy: { ok: false, code: 'POLICY_DENIED' },
      ownFilter: { ok: false },
      lowSocket: { ok: false, code: 'POLICY_DENIED' },
      highStopped: { ok: false, code: 'WRONG_STATE' },
    });
    expect(managerProxies()).toEqual([]);
    const after = manager.refusals().slice(before);
    expect(after.map((r) => r.op)).toEqual(expect.arrayContaining(['card.proxy', 'card.socket']));
    expect(after.every((r) => r.peerUid === manager.cloison.uid)).toBe(true);
  }, 120_000);

  it('an exclusive card: a compromised part asking for low\'s proxy while high\'s runs is refused; once high\'s is stopped, low\'s starts', async () => {
    const shared = policyText;
    policyText = cardPolicy(UIDS, cardSection(token, PROXY_UID, { high: ['high-sign'], low: ['low-auth'] }, { exclusive: true }));
    try {
      const before = manager.refusals().length;
      const reports = await runPart('exclusive');
      console.log(JSON.stringify(reports));
      expect(reports.find((r) => r.step === 'exclusive')).toMatchObject({
        highStarted: { ok: true, result: { running: true } },
        lowWhileHigh: { ok: false, code: 'POLICY_DENIED' },
        highStopped: { ok: true, result: { running: false } },
        lowAfter: { ok: true, result: { running: true } },
        lowStopped: { ok: true, result: { running: false } },
      });
      expect(manager.refusals().slice(before)).toEqual([expect.objectContaining({ op: 'card.proxy', peerUid: manager.cloison.uid })]);
      expect(managerProxies()).toEqual([]);
    } finally {
      policyText = shared;
    }
  }, 120_000);

  it('an exclusive card given to high, its part crashed and started again: the new part\'s start stops high\'s proxy (the card is nobody\'s, as the part shows)', async () => {
    const shared = policyText;
    policyText = cardPolicy(UIDS, cardSection(token, PROXY_UID, { high: ['high-sign'], low: ['low-auth'] }, { exclusive: true }));
    try {
      const given = await runPart('give');
      expect(given.find((r) => r.step === 'give')).toMatchObject({ holder: 'high' });
      // The part ended without taking the card back: high's proxy still runs in the manager.
      expect(managerProxies().length).toBeGreaterThan(0);
      const restarted = await runPart('restart');
      expect(restarted.find((r) => r.step === 'restart')).toMatchObject({ holder: null });
      expect(managerProxies()).toEqual([]);
    } finally {
      policyText = shared;
    }
  }, 120_000);

  it('a reload narrows high\'s objects: a compromised part that does not start high\'s proxy again gets no connection to the old filter, and that proxy is stopped', async () => {
    const shared = policyText;
    let running = 0;
    try {
      const reports = await runPart('reload', async (r) => {
        if (r.step !== 'started') return;
        running = managerProxies().length;
        policyText = cardPolicy(UIDS, cardSection(token, PROXY_UID, { high: ['high-sign'] }));
        writeFileSync(join(root, 'go-reload'), '');
      });
      console.log(JSON.stringify(reports));
      expect(reports.find((r) => r.step === 'started')).toMatchObject({ high: { ok: true } });
      expect(running).toBeGreaterThan(0);
      expect(reports.find((r) => r.step === 'afterReload')).toMatchObject({ socket: { ok: false, code: 'WRONG_STATE' } });
      expect(managerProxies()).toEqual([]);
    } finally {
      policyText = shared;
    }
  }, 120_000);

  // Last: the manager's whole table is stopped here.
  it('the manager stopping with high\'s proxy still running (its part gone): no pkcs11proxyd is left once its stop returns', async () => {
    await manager.table!.executors['card.proxy']!({ op: 'card.proxy', level: 'high', action: 'start' }, { pid: process.pid, uid: manager.cloison.uid, gid: manager.cloison.gid });
    expect(managerProxies().length).toBeGreaterThan(0);
    await manager.table!.stop();
    expect(managerProxies()).toEqual([]);
  }, 60_000);
});
