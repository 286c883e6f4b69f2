/**
 * The encrypting diode with real cages and Debian's gpg: a file from high lands in low only as an
 * OpenPGP message that the recipient's key decrypts (and another key does not), signed with high's
 * key; no byte of its clear text reaches low's home at any moment of the transfer (watched while it
 * runs); the journal names the recipient and holds keyed fingerprints only. A policy naming a
 * missing, malformed, unprotected or signing-only recipient key is refused at load with its place.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePolicy } from '../policy/policyLoader';
import { openPgpPerson } from '../testing/openpgpPerson';
import { testRoot } from '../testing/realCage';
import { answerAfterReading } from '../testing/rpcClient';
import { startTestSupervisor, type TestSupervisor } from '../testing/testSupervisor';
import { bwrapCage, twoLevelPolicy } from '../testing/testPolicy';

const UIDS = { low: 58613, high: 58614 };
const MARKER = 'TOP-SECRET-MARKER-7f3a';

describe('the encrypting diode (real cages, real gpg)', () => {
  const root = testRoot('cloison-diode-');
  const alice = openPgpPerson(root, 'Alice');
  const mallory = openPgpPerson(root, 'Mallory');
  let t: TestSupervisor;

  beforeAll(async () => {
    const policy = twoLevelPolicy({ low: bwrapCage({ uid: UIDS.low }), high: bwrapCage({ uid: UIDS.high }) }, `files:\n  down: { decision: encrypt, recipients: [${alice.publicKey}] }\n`);
    t = await startTestSupervisor(policy);
  });
  afterAll(async () => {
    await t?.stop();
    for (const p of [alice, mallory]) p.close();
  });

  /** Every byte of every file under a folder, names included. */
  function everythingUnder(dir: string): string {
    let all = '';
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      all += entry.name;
      try {
        if (entry.isDirectory()) all += everythingUnder(path);
        else if (entry.isFile()) all += readFileSync(path, 'latin1');
      } catch {
        /* gone while read: the writer renames its partial copy */
      }
    }
    return all;
  }

  it('high → low lands encrypted to the recipient and signed by high; no clear byte in low at any moment', async () => {
    const secret = `${MARKER}\n${'classified line\n'.repeat(20_000)}`;
    const source = join(t.home('high'), 'report.txt');
    writeFileSync(source, secret);
    chownSync(source, UIDS.high, UIDS.high);

    const rule = await t.rpc.call('files.rule', { from: 'high', to: 'low' });
    expect(rule.result).toMatchObject({ decision: 'encrypt', direction: 'down', justificationNeeded: false, encryptTo: [{ uid: 'Alice <alice@example.org>' }] });

    // Watch low's home the whole time, from before the question to after the answer.
    let leaked = false;
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        if (everythingUnder(t.home('low')).includes(MARKER)) leaked = true;
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    const asked = t.rpc.next('onConfirmRequest');
    const transfer = t.rpc.call('files.transfer', { from: 'high', to: 'low', paths: ['report.txt'] });
    const question = await asked;
    expect(question).toMatchObject({ kind: 'files', direction: 'down', encryptTo: [{ uid: 'Alice <alice@example.org>' }] });
    await answerAfterReading(t.rpc, { id: question.id, accept: true });
    const { result } = await transfer;
    watching = false;
    await watcher;
    expect(leaked).toBe(false);
    expect(result.results).toEqual([expect.objectContaining({ outcome: 'copied', landedAs: 'report.txt.gpg', encrypted: true })]);

    const landed = join(t.home('low'), 'Incoming', 'high', 'report.txt.gpg');
    expect(readFileSync(landed, 'latin1')).not.toContain(MARKER);
    expect(statSync(landed).uid).toBe(UIDS.low);
    expect(existsSync(join(t.home('low'), 'Incoming', 'high', 'report.txt'))).toBe(false);

    // The recipient reads it, and sees high's signature; anyone else reads nothing.
    alice.gpg(['--import', join(t.root, 'state', 'diode', 'high.asc')]);
    expect(alice.gpg(['--decrypt', landed])).toBe(secret);
    const verified = execFileSync('gpg', ['--batch', '--homedir', alice.home, '--status-fd', '1', '--decrypt', '--output', '/dev/null', landed], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(verified).toMatch(/\[GNUPG:\] GOODSIG [0-9A-F]+ Cloison high/);
    expect(() => mallory.gpg(['--decrypt', landed])).toThrow(/No secret key|decryption failed/);

    const record = t.records().filter((r) => r.kind === 'file.transfer' && r.decision === 'copied').at(-1)!;
    expect(record).toMatchObject({ from: 'high', to: 'low', direction: 'down', actor: 'user', encryptedTo: alice.fingerprint, landedAs: 'report.txt.gpg' });
    expect(record.fingerprint).not.toBe(record.plainFingerprint);
    expect(JSON.stringify(t.records())).not.toContain(MARKER);
  });

  it('refused by the user: nothing lands', async () => {
    const source = join(t.home('high'), 'other.txt');
    writeFileSync(source, `${MARKER} other\n`);
    chownSync(source, UIDS.high, UIDS.high);
    const asked = t.rpc.next('onConfirmRequest');
    const transfer = t.rpc.call('files.transfer', { from: 'high', to: 'low', paths: ['other.txt'] });
    await answerAfterReading(t.rpc, { id: (await asked).id, accept: false });
    expect((await transfer).result.results[0]).toMatchObject({ outcome: 'refused' });
    expect(readdirSync(join(t.home('low'), 'Incoming', 'high'))).toEqual(['report.txt.gpg']);
  });
});

describe('recipient keys are checked when the policy loads', () => {
  const root = testRoot('cloison-rcpt-');
  const signOnly = openPgpPerson(root, 'Signer', { encrypt: false });
  const good = openPgpPerson(root, 'Bob');
  const policyWith = (recipients: string) => twoLevelPolicy({ low: bwrapCage(), high: bwrapCage({ uid: 58500 }) }, `files:\n  down:\n    decision: encrypt\n    recipients: [${recipients}]\n`);
  const problems = (text: string) => {
    try {
      parsePolicy(text, 'p.yaml');
    } catch (err) {
      return (err as Error).message;
    }
    throw new Error('accepted');
  };
  afterAll(() => {
    for (const p of [signOnly, good]) p.close();
  });

  it('accepts a good key; refuses a missing, malformed, unprotected or signing-only one, with file:line', () => {
    expect(parsePolicy(policyWith(good.publicKey), 'p.yaml').files.down.recipients).toEqual([good.publicKey]);
    const garbage = join(root, 'garbage.asc');
    writeFileSync(garbage, '-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nnot a key\n-----END PGP PUBLIC KEY BLOCK-----\n', { mode: 0o644 });
    const open = join(root, 'open.asc');
    writeFileSync(open, readFileSync(good.publicKey));
    chmodSync(open, 0o666);
    expect(problems(policyWith(join(root, 'missing.asc')))).toMatch(/^p\.yaml:16:\d+: files\.down\.recipients\[0\]: cannot read the recipient key .*missing\.asc: ENOENT/);
    expect(problems(policyWith(garbage))).toMatch(/files\.down\.recipients\[0\]: .*garbage\.asc is not an OpenPGP public key/);
    expect(problems(policyWith(open))).toMatch(/open\.asc must be root's and writable by root only/);
    expect(problems(policyWith(signOnly.publicKey))).toMatch(/has no usable encryption key/);
    expect(problems(twoLevelPolicy({ low: bwrapCage(), high: bwrapCage({ uid: 58500 }) }, 'files:\n  down: { decision: encrypt }\n'))).toMatch(/files\.down\.decision: decision "encrypt" needs recipients/);
  });
});
