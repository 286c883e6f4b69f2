import { describe, expect, it } from 'vitest';
import { displayField, mediaDirName } from './deviceText';
import { decodeEnc } from './filesystemProbe';

describe('device-supplied text', () => {
  it('shows controls and bidi overrides as markers and caps the length', () => {
    expect(displayField('A\u001b[2JB\u202eC')).toBe('A⟨U+001B⟩[2JB⟨U+202E⟩C');
    const long = displayField('x'.repeat(300));
    expect(long).toBe(`${'x'.repeat(96)}…`);
  });

  it('makes one safe folder name of any label', () => {
    const none = new Set<string>();
    expect(mediaDirName('../../etc', 'usb-1', none)).toBe('_.._etc');
    expect(mediaDirName('..', 'usb-1', none)).toBe('usb-1');
    expect(mediaDirName('.hidden', 'usb-1', none)).toBe('hidden');
    expect(mediaDirName('\u0007\u001b', 'usb-1', none)).toBe('usb-1');
    expect(mediaDirName(null, 'usb-1', none)).toBe('usb-1');
    expect([...mediaDirName('é'.repeat(300), 'usb-1', none)].length).toBe(48);
    expect(mediaDirName('KEY', 'usb-1', new Set(['KEY', 'KEY (2)']))).toBe('KEY (3)');
  });

  it('decodes blkid\'s hex-escaped labels byte for byte', () => {
    expect(decodeEnc('..\\x2f\\x1b\\x5b31m')).toBe('../\u001b[31m');
    expect(decodeEnc('caf\\xc3\\xa9')).toBe('café');
    expect(decodeEnc('')).toBeNull();
  });
});
