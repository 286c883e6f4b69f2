/**
 * File rules that need no running cage: a down transfer an administrator allowed still needs a
 * written justification, which the journal keeps. The helpers run for real (bubblewrap, the
 * cages' uids) over plain directories standing for the cages' homes.
 */
import { chmodSync, chownSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileAuditJournal } from '../audit/auditJournal';
import { Confirmations } from '../confirm/confirmations';
import { parsePolicy } from '../policy/policyLoader';
import { testRoot } from '../testing/realCage';
import { EncryptingDiode } from './encryptingDiode';
import { FileBroker } from './fileBroker';

const POLICY = `version: 1
levels:
  - { id: low, rank: 0, label: { fr: Bas, en: Low }, colour: "#1b7f3b", cage: { driver: bwrap, uid: 59841 } }
  - { id: high, rank: 1, label: { fr: Haut, en: High }, colour: "#b3261e", cage: { driver: bwrap, uid: 59842 } }
files:
  pairs:
    - { from: high, to: low, decision: allow, types: [text] }
`;

describe('file broker rules', () => {
  it('requires a written justification for an allowed down transfer, and journals it', async () => {
    const root = testRoot();
    const homes = { low: { home: join(root, 'low'), uid: 59841 }, high: { home: join(root, 'high'), uid: 59842 } };
    for (const h of Object.values(homes)) {
      mkdirSync(h.home);
      chownSync(h.home, h.uid, h.uid);
    }
    writeFileSync(join(homes.high.home, 'release-note.txt'), 'public release note');
    chmodSync(join(homes.high.home, 'release-note.txt'), 0o644);
    const journal = new FileAuditJournal(join(root, 'audit.jsonl'));
    const broker = new FileBroker({
      policy: { current: () => parsePolicy(POLICY, 'p.yaml') },
      homeOf: (level) => homes[level as 'low' | 'high'],
      confirmations: new Confirmations({ publish: () => {}, settle: () => {} }),
      journal,
      stagingDir: join(root, 'staging'),
      diode: new EncryptingDiode(join(root, 'diode'), 'test'),
    });
    await expect(broker.transfer('high', 'low', ['release-note.txt'])).rejects.toThrow(/needs a written justification/);
    await expect(broker.transfer('high', 'low', ['release-note.txt'], '   ')).rejects.toThrow(/needs a written justification/);
    const [result] = await broker.transfer('high', 'low', ['release-note.txt'], 'published on the public site (ticket 4521)');
    expect(result).toMatchObject({ outcome: 'copied', landedAs: 'release-note.txt' });
    expect(readFileSync(join(homes.low.home, 'Incoming', 'high', 'release-note.txt'), 'utf8')).toBe('public release note');
    const record = JSON.parse(readFileSync(join(root, 'audit.jsonl'), 'utf8').trim().split('\n').pop()!);
    expect(record).toMatchObject({ kind: 'file.transfer', direction: 'down', decision: 'copied', justification: 'published on the public site (ticket 4521)' });
  });
});
