import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { usbText } from './usbText';

/** Every English reason literal the USB code writes (template placeholders filled with plausible values). */
function reasonsIn(file: string, pattern: RegExp): string[] {
  const source = readFileSync(join(__dirname, file), 'utf8');
  return [...source.matchAll(pattern)].map((m) =>
    m[2]!
      .replace(/\$\{record\.state\}\$\{record\.level \? ` to "\$\{record\.level\}"` : ''\}/, 'attached to "low"')
      .replace(/\$\{record\.state\}/g, 'attached')
      .replace(/\$\{displayField\(fs\.type, 20\)\}/g, 'ntfs')
      .replace(/\$\{record\.problem\}/g, 'no filesystem recognised (blank, encrypted, or damaged beyond recognition)')
      .replace(/\$\{\(err as Error\)\.message\}/g, 'umount: target is busy')
      .replace(/\$\{kind === 'usb\.mark' \? 'marking' : 'erasing'\}/g, 'marking')
      .replace(/\$\{decision\.bound\.level\}/g, 'high')
      .replace(/\$\{decision\.bound\.rule\}/g, 'policy.toml:12')
      .replace(/\$\{mode\}/g, 'read-write')
      .replace(/\$\{mark\.reason\}/g, 'forged mark: no level in it')
      .replace(/\$\{[^}]*\}/g, '42'),
  );
}

describe('USB reasons in both languages', () => {
  const all = [
    ...reasonsIn('deviceBroker.ts', /(?:CloisonError\('[A-Z_]+', usbText\(|problem: |record\.problem = )([`'])((?:(?!\1).)*)\1/g),
    // A key's reading (mark and filesystem) moved beside the broker, the same for root and the cage manager.
    ...reasonsIn('keyRootActs.ts', /(?:problem: )([`'])((?:(?!\1).)*)\1/g),
    ...reasonsIn('keyMarks.ts', /reason: ([`'])((?:(?!\1)[^\\]|\\.)*)\1/g).map((s) => s.replace(/\\'/g, "'")),
    ...reasonsIn('devicePolicy.ts', /return ([`'])((?:(?!\1).)*)\1;/g),
  ].filter((s) => !s.includes('${')); // a template nested in a template is cut short by the pattern: given below
  all.push('the device is attached to "low": eject it first');

  it('finds the reasons it checks (the extraction still matches the code)', () => {
    expect(all.length).toBeGreaterThan(25);
  });

  it.each(all.map((en) => [en]))('%s', (en) => {
    const { fr, en: kept } = usbText(en);
    expect(kept).toBe(en);
    expect(fr, 'translated, not only introduced').not.toMatch(/^détail technique/);
    expect(fr).not.toBe(en);
  });

  it('keeps the level, the rule and a tool’s own words', () => {
    expect(usbText('this device is bound to level "high" by policy.toml:12: it cannot be attached to "low"').fr).toBe(
      'cette clé est liée au niveau « high » par policy.toml:12 : elle ne peut pas être attachée à « low »',
    );
    expect(usbText('refused: forged mark: its signature is not this workstation\'s').fr).toBe('refusée : marquage falsifié : sa signature n’est pas celle de ce poste');
    expect(usbText('could not mount the filesystem (vfat): mount: wrong fs type').fr).toBe('montage du système de fichiers (vfat) impossible : mount: wrong fs type');
  });
});
