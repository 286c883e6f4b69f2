import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fileReasons, helperReason } from './fileReasons';

const high = { id: 'high', label: { fr: 'Niveau haut' } };
const low = { id: 'low', label: { fr: 'Niveau bas' } };

describe('file broker reasons in both languages', () => {
  it('every reason has a French text that is not the English one, and keeps the English the journal always had', () => {
    const all = [
      fileReasons.forbidden('down', high, low),
      fileReasons.sameLevel(),
      fileReasons.busy(),
      fileReasons.needsJustification(),
      fileReasons.justificationTooLong(500),
      fileReasons.tooMany(12, 10),
      fileReasons.diodeCannotEncrypt('key changed'),
      fileReasons.unreadable(),
      fileReasons.notRegular('directory'),
      fileReasons.hardLinks(),
      fileReasons.tooLarge(2000, 1000),
      fileReasons.totalTooLarge(1000),
      fileReasons.typeNotAllowed('application/x-executable', low, high),
      fileReasons.scannerRefused('Eicar-Signature FOUND'),
      fileReasons.timedOut(),
      fileReasons.refusedByUser(),
      fileReasons.cancelled(),
      fileReasons.readerExited(1),
      fileReasons.writerExited(1),
      fileReasons.grew('a.txt'),
      fileReasons.changedSize('a.txt'),
      fileReasons.copyFailed('EIO'),
      fileReasons.encryptFailed('gpg failed'),
      fileReasons.noReachableFiles('low'),
      fileReasons.unknownLevel('mid'),
      fileReasons.cannotList(null),
    ];
    for (const r of all) {
      expect(r.fr.length).toBeGreaterThan(0);
      expect(r.fr).not.toBe(r.en);
    }
    expect(fileReasons.forbidden('down', high, low)).toEqual({
      fr: 'la politique interdit les transferts de fichiers vers le bas de Niveau haut à Niveau bas',
      en: 'the policy forbids down file transfers from high to low',
    });
    expect(fileReasons.scannerRefused('x').en.startsWith('scanner')).toBe(true); // the journal's scanner field reads it
  });

  it('translates every refusal the file helper writes, keeping the names it gives', () => {
    // Every literal or template refuse(...) in the helper, with its placeholders filled in.
    const helper = readFileSync(join(__dirname, 'fileHelper.mjs'), 'utf8');
    const said = [...helper.matchAll(/refuse\((['`])(.*?)\1\)/g)].map((m) =>
      m[2]!.replace(/\$\{rel\}/g, 'Documents/note.txt').replace(/\$\{copied\}/g, '10').replace(/\$\{size\}/g, '20').replace(/\$\{mode\}/g, 'zap'),
    );
    expect(said.length).toBeGreaterThan(15);
    for (const en of said.filter((s) => !s.startsWith('unknown mode'))) {
      const r = helperReason(`${en}\n`);
      expect(r.en).toBe(en);
      expect(r.fr, en).not.toContain('assistant de fichiers');
      expect(r.fr).not.toBe(en);
    }
    expect(helperReason('Documents/note.txt goes through a symbolic link').fr).toBe('Documents/note.txt passe par un lien symbolique');
  });

  it('an unknown helper message is still introduced in French, its words kept', () => {
    expect(helperReason('EACCES permission denied')).toEqual({ fr: 'refusé par l’assistant de fichiers : EACCES permission denied', en: 'EACCES permission denied' });
  });
});
