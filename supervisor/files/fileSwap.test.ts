/**
 * Attacks on the link between what the user confirms and what crosses, by the source cage as its
 * own user: swapping the file for an ELF of the same size with its old mtime put back while the
 * trusted dialog is up; growing it after it was staged; replacing it between the listing and the
 * copy; giving it a second name; a script header in front of an ELF. Nothing but the bytes the
 * dialog described ever lands, and what is refused says why.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FilesConfirmRequest, TransferResult } from '../../shared/rpc';
import type { Supervisor } from '../supervisor';
import { startTestSupervisor, type TestSupervisor } from '../testing/testSupervisor';
import { cageShell, innerPidOf } from '../testing/realCage';
import { answerAfterReading, type RpcClient } from '../testing/rpcClient';
import { bwrapCage, twoLevelPolicy } from '../testing/testPolicy';
import { runFileHelper } from './cageFileSandbox';

const LOW_UID = 58617;
const POLICY = twoLevelPolicy({ low: bwrapCage({ uid: LOW_UID }), high: bwrapCage({ uid: 58618 }) });
const REPORT = 'Rapport trimestriel : rien à signaler.\n'.repeat(200);
const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

describe('file broker: what was confirmed is what crosses', () => {
  let t: TestSupervisor;
  let sup: Supervisor;
  let shell: RpcClient;
  const home = (level: string) => t.home(level);
  const incoming = () => join(home('high'), 'Incoming', 'low');
  // The attacker: a shell in low's namespaces, as low's user, in its home.
  const low = () => (script: string) => cageShell(innerPidOf(sup, 'low'), LOW_UID)(`cd "$HOME" && ${script}`);

  beforeAll(async () => {
    t = await startTestSupervisor(POLICY);
    ({ sup, rpc: shell } = t);
  });
  afterAll(async () => {
    await t?.stop();
  });

  /** Transfers one file; `duringDialog` runs while the trusted dialog is up, then the user accepts. */
  async function transfer(path: string, duringDialog: () => Promise<unknown> = async () => undefined) {
    const asked = new Promise<FilesConfirmRequest>((resolve) => shell.events.once('onConfirmRequest', resolve));
    const pending = shell.call('files.transfer', { from: 'low', to: 'high', paths: [path] });
    const question = await Promise.race([asked, pending.then(() => null)]);
    if (question) {
      await duringDialog();
      await answerAfterReading(shell, { id: question.id, accept: true });
    }
    const r = await pending;
    return { result: (r.result as { results: TransferResult[] }).results[0]!, question };
  }

  it('a swap for an ELF of the same size, old mtime put back, during the dialog: the text shown is what lands', async () => {
    const write = await low()(`printf '%s' '${REPORT.replace(/'/g, `'\\''`)}' > report.txt && stat -c %s report.txt`);
    expect(Number(write.stdout.trim())).toBe(Buffer.byteLength(REPORT));
    const { result, question } = await transfer('report.txt', async () => {
      // The attacker: an ELF cut to the same size, then the old mtime back on it.
      const swap = await low()(`touch -r report.txt /tmp/stamp && head -c ${Buffer.byteLength(REPORT)} /usr/bin/true > report.new && touch -r /tmp/stamp report.new && mv report.new report.txt && head -c 4 report.txt | od -c | head -1`);
      expect(swap.stdout).toContain('E   L   F');
    });
    expect(question!.files).toEqual([{ name: 'report.txt', size: Buffer.byteLength(REPORT), type: 'text' }]);
    expect(result).toMatchObject({ outcome: 'copied', type: 'text', sha256: sha(REPORT) });
    expect(readFileSync(join(incoming(), result.landedAs!), 'utf8')).toBe(REPORT);
  });

  it('a file grown after it was staged lands as it was staged', async () => {
    await low()(`printf 'ligne 1\\n' > notes.txt`);
    const { result } = await transfer('notes.txt', () => low()('echo "ajout caché" >> notes.txt'));
    expect(result).toMatchObject({ outcome: 'copied', sha256: sha('ligne 1\n') });
    expect(readFileSync(join(incoming(), result.landedAs!), 'utf8')).toBe('ligne 1\n');
  });

  it('a file replaced between its listing and its copy is refused, with the reason', async () => {
    const lowHome = { home: home('low'), uid: LOW_UID };
    await low()(`printf 'version A' > doc.txt`);
    const listed = await runFileHelper(lowHome, ['stat', 'doc.txt']);
    const info = JSON.parse(listed.stdout) as { dev: number; ino: number; size: number; mtimeMs: number; ctimeMs: number };
    const identity = JSON.stringify({ dev: info.dev, ino: info.ino, size: info.size, mtimeMs: info.mtimeMs, ctimeMs: info.ctimeMs });
    // Same size, same mtime, another file (another inode): the reader refuses it.
    await low()(`touch -r doc.txt /tmp/stamp2 && printf 'version B' > doc.new && touch -r /tmp/stamp2 doc.new && mv doc.new doc.txt`);
    const read = await runFileHelper(lowHome, ['read', 'doc.txt', identity]);
    expect(read).toMatchObject({ code: 2, stderr: 'doc.txt changed between the listing and the copy' });
    // Rewritten in place with the mtime put back: the ctime gives it away.
    await low()(`touch -r doc.txt /tmp/stamp3 && printf 'version C' > doc.txt && touch -r /tmp/stamp3 doc.txt`);
    const listedAgain = JSON.parse((await runFileHelper(lowHome, ['stat', 'doc.txt'])).stdout) as typeof info;
    const again = JSON.stringify({ dev: listedAgain.dev, ino: listedAgain.ino, size: listedAgain.size, mtimeMs: listedAgain.mtimeMs, ctimeMs: listedAgain.ctimeMs });
    await new Promise((r) => setTimeout(r, 20));
    await low()(`touch -r doc.txt /tmp/stamp4 && printf 'version D' > doc.txt && touch -r /tmp/stamp4 doc.txt`);
    expect(await runFileHelper(lowHome, ['read', 'doc.txt', again])).toMatchObject({ code: 2, stderr: 'doc.txt changed between the listing and the copy' });
  });

  it('a file with a second name (a hard link) is refused', async () => {
    await low()(`printf 'partagé' > shared.txt && ln shared.txt .hidden-name`);
    const { result, question } = await transfer('shared.txt');
    expect(question).toBeNull();
    expect(result).toMatchObject({ outcome: 'refused', reason: expect.stringContaining('hard links') });
  });

  it('"text" means the whole file: a script header in front of an ELF is refused', async () => {
    // A header longer than any first sample: only reading the whole file tells.
    await low()(`{ printf '#!/bin/sh\\n# %s\\necho bonjour\\n' "$(printf 'x%.0s' $(seq 120))"; cat /usr/bin/true; } > script.sh`);
    const { result, question } = await transfer('script.sh');
    expect(question).toBeNull();
    expect(result).toMatchObject({ outcome: 'refused', type: 'unknown', reason: expect.stringContaining('content is unknown') });
    expect(existsSync(incoming()) ? readdirSync(incoming()).filter((n) => n.startsWith('script')) : []).toEqual([]);
  });
});
