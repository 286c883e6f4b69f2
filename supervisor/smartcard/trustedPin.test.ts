/**
 * `smartcard.pin: trusted` against real cages and a SoftHSM2 token: whatever PIN a cage's C_Login
 * carries (the right one, a wrong one, none), the token sees only what the user typed in the
 * trusted dialog — no answer, no login. A second login while the dialog is open is refused. The
 * typed PIN is never journaled and is found nowhere in the cage, files or memory.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipWhenMissing } from '../testing/skipWithReason';
import type { ConfirmRequest } from '../../shared/rpc';
import { smartcardPolicySchema } from '../../shared/smartcardPolicy';
import { Confirmations } from '../confirm/confirmations';
import { cardTestRoot, levelProxyUid, missingForCardTest, startCardCages } from '../testing/cardFixture';
import type { RealCage } from '../testing/realCage';
import { SOFTHSM_MODULE, type SoftToken } from '../testing/softToken';
import { waitFor } from '../testing/waitFor';
import { CAGE_CARD_CLIENT_MODULE } from './cageCardEndpoint';
import { SmartcardBroker } from './smartcardBroker';
import { CKR_FUNCTION_CANCELED } from './trustedPinLogin';

const missing = missingForCardTest('trusted PIN tests');

const PROXY_UID = 53_500 + (process.pid % 400);
const PROBE = readFileSync(join(__dirname, '../testing/pkcs11Probe.py'), 'utf8');
/** The card's PIN, known only to the user: set on the token before the cages start. */
const USER_PIN = 'Qz7-card-PIN-4815';
const CKR_PIN_INCORRECT = 0xa0;
/** What the held application passes as its PIN (ignored): the memory scan's positive control. */
const CAGE_OWN_PIN = 'cage-own-PIN-0815';
const CKF_PROTECTED_AUTHENTICATION_PATH = 0x100;

type Entry = { kind: string; actor: string; fields: { [k: string]: string | number | boolean } };
type ProbeAnswer = { login?: number; sign?: number; tokenFlags?: number };

describe('trusted PIN dialog (real cages, SoftHSM2 token)', skipWhenMissing(missing), () => {
  let root: string;
  let broker: SmartcardBroker;
  let confirmations: Confirmations;
  const records: Entry[] = [];
  const asked: ConfirmRequest[] = [];
  const settled: { id: string; answer: string }[] = [];
  let cages = new Map<string, RealCage>();
  const cageUids = new Map<string, number>();

  /** The attack tool in the cage: C_Login with `pin` ("-": a NULL PIN), then a signature. */
  const login = async (level: string, pin: string): Promise<ProbeAnswer> => {
    const r = await cages.get(level)!.sh(`cat > /tmp/probe.py <<'PY'\n${PROBE}PY\npython3 /tmp/probe.py ${CAGE_CARD_CLIENT_MODULE} login '${pin}'`, 90_000);
    try {
      return JSON.parse(r.stdout.trim().split('\n').pop()!) as ProbeAnswer;
    } catch {
      throw new Error(`probe: ${r.stdout} ${r.stderr}`);
    }
  };
  /** The dialog the supervisor published for the next login, once it may be answered (armed). */
  const nextQuestion = async (count: number) => {
    await waitFor(() => asked.length >= count, 'the PIN dialog', 30_000);
    await new Promise((r) => setTimeout(r, 600));
    return asked[count - 1]!;
  };

  beforeAll(async () => {
    // A PIN no test tool passes to a cage: the token's is changed to the user's own.
    let token: SoftToken;
    ({ root, token } = cardTestRoot('cloison-pin-', PROXY_UID, USER_PIN));
    const policy = smartcardPolicySchema.parse({
      module: SOFTHSM_MODULE,
      pin: 'trusted',
      levels: { high: { objects: ['high-sign'], uid: PROXY_UID }, low: { objects: ['low-auth'], uid: levelProxyUid(PROXY_UID, 'low') } },
      environment: { SOFTHSM2_CONF: token.conf },
    });
    confirmations = new Confirmations({ publish: (request) => asked.push(request), settle: (id, answer) => settled.push({ id, answer }), timeoutMs: 30_000 });
    broker = new SmartcardBroker({
      policy: { current: () => ({ smartcard: policy }) },
      dir: join(root, 'card'),
      cageGid: (level) => cageUids.get(level)!,
      record: (kind, actor, fields) => records.push({ kind, actor, fields }),
      confirmations: () => confirmations,
      pinHoldOffMs: 0, // one refused dialog after another here; the hold-off has its own test (trustedPinLogin.test.ts)
    });
    cages = await startCardCages(root, ['high', 'low'], broker, cageUids);
  }, 120_000);

  afterAll(async () => {
    confirmations?.refuseAll();
    await broker?.close();
    for (const cage of cages.values()) await cage.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  }, 60_000);

  it('tells applications the PIN is typed elsewhere (CKF_PROTECTED_AUTHENTICATION_PATH)', async () => {
    const answer = login('high', '-');
    const question = await nextQuestion(asked.length + 1);
    confirmations.answerFromUser(question.id, 'refused');
    expect(((await answer).tokenFlags ?? 0) & CKF_PROTECTED_AUTHENTICATION_PATH).toBe(CKF_PROTECTED_AUTHENTICATION_PATH);
  }, 90_000);

  it('without the user\'s answer no login, whatever PIN the cage sends: the right one, a wrong one, none', async () => {
    for (const pin of [USER_PIN, '000000', '-']) {
      const count = asked.length + 1;
      const answer = login('high', pin);
      // The user refuses the dialog if one comes; the login's result is what the cage got either way.
      const refused = nextQuestion(count).then((question) => {
        expect(question).toMatchObject({ kind: 'pin', level: 'high', application: 'python3' });
        confirmations.answerFromUser(question.id, 'refused');
      });
      const result = await answer;
      expect(result.login, `cage's PIN ${pin}`).toBe(CKR_FUNCTION_CANCELED);
      expect(result.sign).not.toBe(0);
      await refused;
    }
    const cancelled = records.filter((r) => r.kind === 'smartcard.pin' && r.fields.outcome === 'cancelled');
    expect(cancelled.length).toBeGreaterThanOrEqual(3);
    expect(records.filter((r) => r.kind === 'smartcard.login' && r.fields.level === 'high' && r.fields.ok === false).length).toBeGreaterThanOrEqual(3);
  }, 120_000);

  it('the user types the right PIN: the cage is logged in and signs, whatever PIN it sent (none, a wrong one)', async () => {
    for (const pin of ['-', '000000']) {
      const answer = login('high', pin);
      const question = await nextQuestion(asked.length + 1);
      broker.pinTyped(question.id, USER_PIN);
      const result = await answer;
      expect(result, `cage's PIN ${pin}`).toMatchObject({ login: 0, sign: 0 });
    }
    expect(records.some((r) => r.kind === 'smartcard.pin' && r.fields.outcome === 'typed' && r.fields.level === 'high')).toBe(true);
    expect(records.some((r) => r.kind === 'smartcard.login' && r.fields.level === 'high' && r.fields.ok === true)).toBe(true);
  }, 120_000);

  it('the user types a wrong PIN: refused by the card, journaled as a failed login without the PIN', async () => {
    const before = records.length;
    const answer = login('low', '-');
    const question = await nextQuestion(asked.length + 1);
    expect(question).toMatchObject({ kind: 'pin', level: 'low' });
    broker.pinTyped(question.id, '999999');
    expect(await answer).toMatchObject({ login: CKR_PIN_INCORRECT });
    await waitFor(() => records.slice(before).some((r) => r.kind === 'smartcard.login' && r.fields.level === 'low' && r.fields.ok === false), 'the failed login in the journal', 15_000);
    const journal = JSON.stringify(records);
    expect(journal).not.toContain('999999');
    expect(journal).not.toContain(USER_PIN);
  }, 90_000);

  it('one dialog at a time: a second login while it is open is refused at once, the first still answered', async () => {
    const first = login('high', '-');
    const question = await nextQuestion(asked.length + 1);
    const count = asked.length;
    const second = await login('low', '000000');
    expect(second.login).toBe(CKR_FUNCTION_CANCELED);
    expect(asked.length).toBe(count);
    expect(records.some((r) => r.kind === 'smartcard.pin' && r.fields.level === 'low' && r.fields.outcome === 'busy')).toBe(true);
    broker.pinTyped(question.id, USER_PIN);
    expect(await first).toMatchObject({ login: 0, sign: 0 });
  }, 120_000);

  it('the application going while its dialog is open closes the dialog, journaled as the cage gone', async () => {
    // Killed 3 s after it starts, its login held by the dialog: the shell's dialog must not stay up
    // asking the user for a PIN that would go nowhere.
    const gone = cages.get('high')!.sh(`cat > /tmp/probe.py <<'PY'\n${PROBE}PY\ntimeout -s KILL 3 python3 /tmp/probe.py ${CAGE_CARD_CLIENT_MODULE} login -`, 90_000);
    const question = await nextQuestion(asked.length + 1);
    expect((await gone).code).toBe(137);
    await waitFor(() => settled.some((s) => s.id === question.id), 'the dialog closed once its application went', 10_000);
    expect(settled.find((s) => s.id === question.id)!.answer).toBe('refused');
    expect(records.filter((r) => r.kind === 'smartcard.pin' && r.fields.outcome === 'cage-gone')).toEqual([{ kind: 'smartcard.pin', actor: 'supervisor', fields: { level: 'high', outcome: 'cage-gone' } }]);
  }, 90_000);

  it('a PIN is taken only for its own question', async () => {
    expect(() => broker.pinTyped('not-a-question', USER_PIN)).toThrow(/no PIN is being asked/);
  });

  it('the typed PIN is found nowhere in the cage: not in its files, not in its processes\' memory', async () => {
    // An application that stays logged in while its memory is read; low's cage never had the PIN
    // from this test (high's did: the attack above sends the right PIN from the cage).
    const low = cages.get('low')!;
    const held = low.sh(`rm -f /tmp/ready /tmp/go; cat > /tmp/probe.py <<'PY'\n${PROBE}PY\npython3 /tmp/probe.py ${CAGE_CARD_CLIENT_MODULE} hold ${CAGE_OWN_PIN} /tmp/ready /tmp/go`, 90_000);
    const question = await nextQuestion(asked.length + 1);
    broker.pinTyped(question.id, USER_PIN);
    await waitFor(async () => (await low.sh('test -e /tmp/ready && echo ready', 10_000)).stdout.includes('ready'), 'the held session', 30_000);
    const files = [low.paths.home, low.paths.scratch].filter((d) => existsSync(d));
    const grep = execFileSync('sh', ['-c', `grep -rlF -- '${USER_PIN}' ${files.join(' ')} || true`], { encoding: 'utf8' });
    expect(grep.trim(), 'the cage\'s files').toBe('');
    expect(processesHolding(low.uid, USER_PIN), 'the cage\'s processes').toEqual([]);
    // The scan finds what a cage process does hold: the PIN the application itself passed (and which went nowhere).
    expect(processesHolding(low.uid, CAGE_OWN_PIN).length).toBeGreaterThan(0);
    await low.sh('touch /tmp/go', 10_000);
    expect(JSON.parse((await held).stdout.trim().split('\n')[0]!)).toMatchObject({ login: 0, first: 0 });
  }, 120_000);
});

/** The pids of `uid`'s processes whose readable memory holds `text`. */
function processesHolding(uid: number, text: string): number[] {
  const needle = Buffer.from(text);
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let status: string;
    try {
      status = readFileSync(`/proc/${entry}/status`, 'utf8');
    } catch {
      continue;
    }
    if (!new RegExp(`^Uid:\\s+${uid}\\s`, 'm').test(status)) continue;
    const scan = execFileSync('python3', ['-c', MEMORY_SCAN, entry, needle.toString('hex')], { encoding: 'utf8' });
    if (scan.trim() === 'found') found.push(Number(entry));
  }
  return found;
}

const MEMORY_SCAN = `
import sys
pid, needle = sys.argv[1], bytes.fromhex(sys.argv[2])
try:
    maps = open(f"/proc/{pid}/maps").read().splitlines()
    mem = open(f"/proc/{pid}/mem", "rb", 0)
except OSError:
    print("gone"); sys.exit()
for line in maps:
    fields = line.split()
    addr, perms = fields[:2]
    # Anonymous memory, heap and stack: where a process keeps what it was given.
    if "r" not in perms or (len(fields) > 5 and fields[5] not in ("[heap]", "[stack]")):
        continue
    start, end = (int(x, 16) for x in addr.split("-"))
    try:
        mem.seek(start)
        if needle in mem.read(end - start):
            print("found"); sys.exit()
    except (OSError, ValueError, OverflowError):
        pass
print("clean")
`;
