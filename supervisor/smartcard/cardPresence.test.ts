import { chmodSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { skipWhenMissing } from '../testing/skipWithReason';
import { findBinary } from '../system/binaries';
import { testRoot } from '../testing/realCage';
import { makeSoftToken, SOFTHSM_MODULE } from '../testing/softToken';
import { waitFor } from '../testing/waitFor';
import { CardPresence, tokenSerials, type CardChange } from './cardPresence';

const missing = ['pkcs11-tool', 'softhsm2-util'].filter((b) => !findBinary(b));
if (missing.length > 0) console.warn(`card presence test skipped: ${missing.join(', ')} missing (scripts/setup.sh installs them)`);
const UID = 51_200 + (process.pid % 100);

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

describe('the card in the reader (SoftHSM2 token, pkcs11-tool as an unprivileged uid)', skipWhenMissing(missing), () => {
  const root = testRoot('cloison-scp-');
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('says the card present, then pulled out, then back — by its serial', async () => {
    chmodSync(root, 0o711);
    const token = makeSoftToken(join(root, 'token'), UID);
    const changes: CardChange[] = [];
    const presence = new CardPresence({ settings: () => ({ modulePath: SOFTHSM_MODULE, environment: { SOFTHSM2_CONF: token.conf }, uid: UID }), change: (c) => changes.push(c), intervalMs: 100 });
    presence.start();
    try {
      await waitFor(() => changes.length === 1, 'the first listing', 10_000);
      const [serial] = changes[0]!.present;
      expect(changes[0]).toEqual({ removed: [], inserted: [], present: [serial] });
      const tokens = join(root, 'token', 'tokens');
      const [folder] = readdirSync(tokens);
      mkdirSync(join(root, 'pulled'));
      renameSync(join(tokens, folder!), join(root, 'pulled', folder!));
      await waitFor(() => changes.length === 2, 'the card pulled out', 10_000);
      expect(changes[1]).toEqual({ removed: [serial], inserted: [], present: [] });
      renameSync(join(root, 'pulled', folder!), join(tokens, folder!));
      await waitFor(() => changes.length === 3, 'the card back', 10_000);
      expect(changes[2]).toEqual({ removed: [], inserted: [serial], present: [serial] });
    } finally {
      presence.stop();
    }
  }, 60_000);

  it('a module that cannot be asked says nothing: no card pulled out, no sessions ended for it', async () => {
    const changes: CardChange[] = [];
    const presence = new CardPresence({ settings: () => ({ modulePath: join(root, 'missing.so'), environment: {}, uid: UID }), change: (c) => changes.push(c), intervalMs: 100 });
    presence.start();
    await new Promise((r) => setTimeout(r, 1500));
    presence.stop();
    expect(changes).toEqual([]);
  }, 30_000);
});
