/**
 * The card pulled out when the supervisor is the cloison part: a real manager server (root) with
 * its real executors (pkcs11proxyd as the level's proxy uid, the manager's own watch of the reader),
 * a SoftHSM2 token (its folder moved out of the token directory is the card pulled out), and the
 * supervisor's SmartcardBroker in a real process of the `cloison` account, wired as partSides.ts
 * wires it (cardPresencePart.testTool.ts).
 *
 * What the user sees: pkcs11-tool of high's cage uid, through the part's guard, finds the card;
 * pulled out, it finds none, the band's view says the card is absent (high still served), and the
 * part journals smartcard.removed with the token's serial and the level whose sessions ended; put
 * back, the view says present, smartcard.inserted is journaled, and the card is found again — but
 * an application of high's that had logged in and signed before the card was pulled never signs
 * again in that session.
 */
import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipWhenMissing } from '../testing/skipWithReason';
import { parsePolicy } from '../policy/policyLoader';
import { CARD_CLIENT_MODULE } from '../smartcard/cageCardEndpoint';
import { CARD_ALIAS } from '../smartcard/cardFilterConfig';
import { CARD_SOCKET_NAME } from '../smartcard/levelCardProxy';
import { serveManagerToCloison, type ServedManager } from '../testing/managerServedToCloison';
import { cardPolicy, cardSection, cardTestRoot, missingForCardTest } from '../testing/cardFixture';
import { TOKEN_PIN } from '../testing/softToken';
import { waitFor } from '../testing/waitFor';
import { ManagedCages } from './managedCages';

const missing = missingForCardTest('card presence through the manager test', { cages: false });
if (!missing.length && !readdirSync('/usr/lib/x86_64-linux-gnu/caml-crush').includes('libp11clientunix.so')) missing.push(CARD_CLIENT_MODULE);

const BASE = 54_600 + (process.pid % 50) * 4;
const PROXY_UID = BASE;
const UIDS = { low: BASE + 2, high: BASE + 3 };

let root: string;
let manager: ServedManager;
let policyText: string;
const cages = new ManagedCages();

beforeAll(async () => {
  if (missing.length) return;
  let token;
  ({ root, token } = cardTestRoot('cloison-cardpresence-part-', PROXY_UID));
  policyText = cardPolicy(UIDS, cardSection(token, PROXY_UID, { high: ['high-sign'] }));
  manager = await serveManagerToCloison({ root, policy: () => parsePolicy(policyText, 'p.yaml'), cages, holdsCage: true, table: (cloison) => ({ partUid: cloison.uid, cardPollMs: 200 }) });
}, 60_000);

afterAll(async () => {
  await manager?.close();
}, 60_000);

type Report = { step: string } & Record<string, unknown>;
type View = { present?: boolean; levels: Array<{ level: string; serving: boolean }> };

const cardEnv = (socketDir: string) => ({ PATH: '/usr/bin:/bin', PKCS11PROXY_SOCKET_PATH: join(socketDir, CARD_SOCKET_NAME), PKCS11PROXY_LIBNAME: CARD_ALIAS });

/** An application of high's that logs in, signs, touches `ready`, and signs again in the same session once `go` exists. */
function heldSession(socketDir: string, dir: string): Promise<string[]> {
  return new Promise((resolve) => {
    const probe = join(__dirname, '../testing/pkcs11Probe.py');
    execFile('setpriv', ['--reuid', String(UIDS.high), '--regid', String(UIDS.high), '--clear-groups', 'python3', probe, CARD_CLIENT_MODULE, 'hold', TOKEN_PIN, join(dir, 'ready'), join(dir, 'go')], { env: cardEnv(socketDir), encoding: 'utf8', timeout: 90_000 }, (_err, stdout) =>
      resolve(stdout.split('\n').filter((l) => l.startsWith('{'))),
    );
  });
}

/** pkcs11-tool as an application of high's cage would run it, on the part's guard socket. */
function listSlots(socketDir: string): Promise<string> {
  return new Promise((resolve) => {
    execFile('setpriv', ['--reuid', String(UIDS.high), '--regid', String(UIDS.high), '--clear-groups', 'pkcs11-tool', '--module', CARD_CLIENT_MODULE, '-L'], { env: cardEnv(socketDir), encoding: 'utf8', timeout: 60_000 }, (_err, stdout, stderr) => resolve(`${stdout}${stderr}`));
  });
}

describe('the card pulled out, the cloison part\'s broker', skipWhenMissing(missing), () => {
  it('pulled out: no card in high, the band\'s view absent, smartcard.removed journaled; put back: present, smartcard.inserted, the card found again, the session logged in before never signs again', async () => {
    const reports: Report[] = [];
    const views = () => reports.filter((r) => r.step === 'view').map((r) => r.view as View);
    const records = (kind: string) => reports.filter((r) => r.step === 'record' && r.kind === kind).map((r) => r.fields as Record<string, unknown>);
    const seen: Record<string, string> = {};
    const done = manager.runPart(join(__dirname, 'cardPresencePart.testTool.ts'), { managerSocket: manager.socketPath, policy: policyText, goFile: join(root, 'go'), cardDir: join(root, 'run-card') }, {
      message: (m, fail) => {
        if (m.type !== 'report') return;
        const r = m as unknown as Report;
        reports.push(r);
        if (r.step === 'serving') void exercise(r.socketDir as string).catch(fail);
      },
    });
    const exercise = async (socketDir: string) => {
      await waitFor(() => views().at(-1)?.present === true, 'the card seen in the reader by the part', 15_000);
      seen.before = await listSlots(socketDir);
      // An application of high's logged in, one signature made, waiting.
      const handshake = join(root, 'held');
      mkdirSync(handshake, { mode: 0o700 });
      chownSync(handshake, UIDS.high, UIDS.high);
      const held = heldSession(socketDir, handshake);
      await waitFor(() => existsSync(join(handshake, 'ready')), 'the held session\'s first signature', 30_000);
      const tokens = join(root, 'token', 'tokens');
      const [folder] = readdirSync(tokens);
      mkdirSync(join(root, 'pulled'), { recursive: true });
      renameSync(join(tokens, folder!), join(root, 'pulled', folder!));
      try {
        await waitFor(() => views().at(-1)?.present === false, 'the card shown absent', 15_000);
        await waitFor(() => records('smartcard.removed').length > 0, 'smartcard.removed', 15_000);
        seen.pulled = await listSlots(socketDir);
      } finally {
        renameSync(join(root, 'pulled', folder!), join(tokens, folder!));
      }
      await waitFor(() => views().at(-1)?.present === true && records('smartcard.inserted').length > 0, 'the card shown back', 15_000);
      await waitFor(() => views().at(-1)?.levels.every((l) => l.serving) === true, 'high served again', 15_000);
      seen.back = await listSlots(socketDir);
      writeFileSync(join(handshake, 'go'), '');
      seen.held = (await held).join(' | ');
      writeFileSync(join(root, 'go'), '');
    };
    await done;
    await manager.stopPart();
    console.log(JSON.stringify(reports.filter((r) => r.step !== 'view')), JSON.stringify(seen));
    expect(reports.find((r) => r.step === 'serving')).toMatchObject({ watching: true });
    expect(seen.before).toContain('token label        : card');
    expect(seen.pulled).not.toContain('token label        : card');
    expect(seen.back).toContain('token label        : card');
    // The session logged in before the card was pulled: its first signature made, the one after refused or its connection gone.
    const [first, ...rest] = seen.held!.split(' | ').map((l) => JSON.parse(l) as { login?: number; first?: number; after?: number });
    expect(first).toMatchObject({ login: 0, first: 0 });
    expect(rest.at(-1)?.after).not.toBe(0);
    const [removed] = records('smartcard.removed');
    expect(removed).toEqual({ token: expect.stringMatching(/\S/), levels: 'high' });
    expect(records('smartcard.inserted')).toEqual([{ token: removed!.token }]);
  }, 180_000);
});
