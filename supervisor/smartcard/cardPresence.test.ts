import { describe, expect, it } from 'vitest';
import { tokenSerials } from './cardPresence';

const SOFTHSM = `Available slots:
Slot 0 (0x7d529c96): SoftHSM slot ID 0x7d529c96
  token label        : card
  token manufacturer : SoftHSM project
  token flags        : login required, rng, token initialized, PIN initialized, other flags=0x20
  serial num         : f9f2f43efd529c96
  pin min/max        : 4/255
Slot 1 (0x1): SoftHSM slot ID 0x1
  token state:   uninitialized
`;
const OPENSC = `Available slots:
Slot 0 (0x0): Alcor Micro AU9540 00 00
  token label        : CARD (PIN)
  token manufacturer : www.CardContact.de
  token flags        : login required, rng, token initialized, PIN initialized
  serial num         : DENK0100123
`;

describe('token serials from pkcs11-tool -T', () => {
  it('lists the initialised tokens by serial and skips empty or uninitialised slots', () => {
    expect(tokenSerials(SOFTHSM)).toEqual(['f9f2f43efd529c96']);
    expect(tokenSerials(OPENSC)).toEqual(['DENK0100123']);
    expect(tokenSerials('Available slots:\nSlot 0 (0x0): SoftHSM slot ID 0x0\n  token state:   uninitialized\n')).toEqual([]);
    expect(tokenSerials('No slots.\n')).toEqual([]);
    expect(tokenSerials('')).toEqual([]);
  });

  it('a serial is one bounded line: nothing after it in the listing joins it', () => {
    const long = `Slot 0 (0x0): x\n  serial num         : ${'A'.repeat(200)}\n`;
    expect(tokenSerials(long)).toEqual([]);
  });
});
