/**
 * The clipboard broker with two real cages, driven like the shell drives it (RPC over the Unix
 * socket, the user's answer to the trusted dialog included), and checked inside the cages with
 * xclip: what crosses, where it lands, what never moves, and what the journal keeps.
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readHead, verifyJournal } from '../audit/auditJournal';
import { contentFingerprint, keyPathOf, readJournalKeys } from '../audit/journalKey';
import { parsePolicy } from '../policy/policyLoader';
import { Supervisor } from '../supervisor';
import { cageShell, type CageShell, innerPidOf, testRoot } from '../testing/realCage';
import { answerAfterReading, rpcClient, type RpcClient } from '../testing/rpcClient';
import { bwrapCage, twoLevelPolicy } from '../testing/testPolicy';

const UIDS = { low: 58601, high: 58602 };
const POLICY = twoLevelPolicy({ low: bwrapCage({ uid: UIDS.low }), high: bwrapCage({ uid: UIDS.high }) });

describe('clipboard broker (real cages)', () => {
  const root = testRoot();
  let sup: Supervisor;
  let shell: RpcClient;
  const sh: Record<'low' | 'high', CageShell> = {} as never;

  beforeAll(async () => {
    sup = new Supervisor({ policy: parsePolicy(POLICY, 'p.yaml'), policySource: 'p.yaml', policyText: POLICY, stateDir: join(root, 'state'), runDir: join(root, 'run'), rendererDir: null });
    await sup.start();
    for (const level of ['low', 'high'] as const) sh[level] = cageShell(innerPidOf(sup, level), UIDS[level]);
    shell = await rpcClient(sup.rpcSocketPath);
  });
  afterAll(async () => {
    shell?.close();
    await sup?.stop();
  });

  /** Puts bytes in a cage's own clipboard, as an app in that cage would (xclip inside the cage). */
  async function setCageClipboard(level: 'low' | 'high', bytes: Buffer | string): Promise<void> {
    const file = join(root, 'state', 'cages', level, 'home', 'clip.bin');
    writeFileSync(file, bytes, { mode: 0o644 });
    const r = await sh[level]('xclip -selection clipboard -i -t UTF8_STRING < ~/clip.bin > /dev/null 2>&1; sleep 0.2');
    expect(r.code).toBe(0);
  }

  async function cageClipboard(level: 'low' | 'high'): Promise<string> {
    return (await sh[level]('xclip -selection clipboard -o -t UTF8_STRING 2>/dev/null')).stdout;
  }

  it('carries text up from low to high after the user confirms, and only there', async () => {
    await setCageClipboard('high', 'high before');
    await setCageClipboard('low', 'rapport: 42 lignes\nsuite');
    const copied = await shell.call('clipboard.copy', { level: 'low' });
    expect(copied).toMatchObject({ ok: true, result: { source: 'low', bytes: 24, lines: 2 } });

    const asked = shell.next('onConfirmRequest');
    const pasting = shell.call('clipboard.paste', { level: 'high' });
    const request = await asked;
    expect(request).toMatchObject({ kind: 'clipboard', from: 'low', to: 'high', direction: 'up', what: { kind: 'text', bytes: 24, lines: 2, preview: 'rapport: 42 lignes\nsuite', stripped: 0 } });
    expect(await cageClipboard('high')).toBe('high before'); // nothing crossed before the answer
    await answerAfterReading(shell, { id: request.id, accept: true });
    expect(await pasting).toMatchObject({ ok: true, result: { outcome: 'pasted' } });

    expect(await cageClipboard('high')).toBe('rapport: 42 lignes\nsuite');
    expect(await cageClipboard('low')).toBe('rapport: 42 lignes\nsuite'); // the source is untouched
  });

  it('is single use: a second paste finds the brokered clipboard empty', async () => {
    expect(await shell.call('clipboard.state', {})).toMatchObject({ ok: true, result: { held: null } });
    expect(await shell.call('clipboard.paste', { level: 'high' })).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST', message: expect.stringContaining('empty') } });
  });

  it('pastes nothing when the user refuses', async () => {
    await setCageClipboard('low', 'not this one');
    await shell.call('clipboard.copy', { level: 'low' });
    const asked = shell.next('onConfirmRequest');
    const pasting = shell.call('clipboard.paste', { level: 'high' });
    await answerAfterReading(shell, { id: (await asked).id, accept: false });
    expect(await pasting).toMatchObject({ ok: true, result: { outcome: 'refused' } });
    expect(await cageClipboard('high')).toBe('rapport: 42 lignes\nsuite');
  });

  it('refuses high → low by the default policy, called straight through the RPC', async () => {
    await setCageClipboard('high', 'TOP SECRET');
    await setCageClipboard('low', 'low text');
    await shell.call('clipboard.copy', { level: 'high' });
    const r = await shell.call('clipboard.paste', { level: 'low' });
    expect(r).toMatchObject({ ok: true, result: { outcome: 'denied', reason: expect.stringContaining('forbids down') } });
    expect(await cageClipboard('low')).toBe('low text');
  });

  it.each([
    ['oversize text', 'x'.repeat(70_000), /over 65536 bytes/],
    ['binary data', Buffer.alloc(256, 0), /binary data/],
    ['invalid UTF-8', Buffer.from([0x61, 0xff, 0xfe, 0x62]), /not valid UTF-8/],
    ['1 MiB of combining characters', 'a' + '\u0301'.repeat(512 * 1024), /over 65536 bytes/],
  ])('refuses %s at copy time, before holding it', async (_name, bytes, reason) => {
    await setCageClipboard('low', bytes);
    const before = (await shell.call('clipboard.state', {})).result;
    const r = await shell.call('clipboard.copy', { level: 'low' });
    expect(r).toMatchObject({ ok: false, error: { code: 'LIMIT_EXCEEDED', message: expect.stringMatching(reason) } });
    expect((await shell.call('clipboard.state', {})).result).toEqual(before);
  });

  it('refuses a copy out of a cage that stalls its clipboard, naming the level (not an internal error), and journals it', async () => {
    // The cage's own clipboard owner stops answering: an xclip the cage holds stopped.
    writeFileSync(join(root, 'state', 'cages', 'low', 'home', 'stall.txt'), 'stalled', { mode: 0o644 });
    const stalled = await sh.low('xclip -quiet -selection clipboard -i < ~/stall.txt > /dev/null 2>&1 & p=$!; sleep 0.4; kill -STOP $p; echo $p');
    try {
      const before = (await shell.call('clipboard.state', {})).result;
      const r = await shell.call('clipboard.copy', { level: 'low' });
      expect(r).toMatchObject({ ok: false, error: { code: 'LIMIT_EXCEEDED', message: expect.stringContaining('Low did not hand over its clipboard in time'), text: { fr: expect.stringContaining('Bas n’a pas remis son presse-papiers à temps') } } });
      expect((await shell.call('clipboard.state', {})).result).toEqual(before);
      const records = readFileSync(join(root, 'state', 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      expect(records.at(-1)).toMatchObject({ kind: 'clipboard.copy', from: 'low', decision: 'refused', reason: expect.stringContaining('in time') });
    } finally {
      await sh.low(`kill -KILL ${stalled.stdout.trim()} 2>/dev/null; true`);
    }
  });

  it('previews right-to-left overrides and control characters faithfully, and strips the controls', async () => {
    await setCageClipboard('low', 'facture_\u202Efdp.exe\u0007\u0000 ok');
    await shell.call('clipboard.copy', { level: 'low' });
    const asked = shell.next('onConfirmRequest');
    const pasting = shell.call('clipboard.paste', { level: 'high' });
    const request = await asked;
    expect(request.what).toMatchObject({ preview: 'facture_⟨U+202E⟩fdp.exe ok', invisibles: 1, stripped: 2 });
    await answerAfterReading(shell, { id: request.id, accept: true });
    await pasting;
    expect(await cageClipboard('high')).toBe('facture_\u202Efdp.exe ok');
  });

  it('journals every decision with size and a keyed fingerprint, never the content nor its plain hash, and the journal verifies', () => {
    const path = join(root, 'state', 'audit.jsonl');
    const text = readFileSync(path, 'utf8');
    const records = text.trim().split('\n').map((l) => JSON.parse(l));
    const pastes = records.filter((r) => r.kind === 'clipboard.paste');
    // Intent before effect: each paste is approved, then pasted.
    expect(pastes.map((r) => [r.from, r.to, r.decision, r.actor])).toEqual([
      ['low', 'high', 'approved', 'user'],
      ['low', 'high', 'pasted', 'user'],
      ['low', 'high', 'refused', 'user'],
      ['high', 'low', 'denied', 'policy'],
      ['low', 'high', 'approved', 'user'],
      ['low', 'high', 'pasted', 'user'],
    ]);
    // A keyed fingerprint: equal for equal text under this installation's key, no dictionary without it.
    const keys = readJournalKeys(keyPathOf(path))!;
    expect(pastes[0]).toMatchObject({ size: 24, direction: 'up', fingerprint: contentFingerprint(keys, createHash('sha256').update('rapport: 42 lignes\nsuite').digest('hex')) });
    expect(pastes[0]!.sha256).toBeUndefined();
    expect(text).not.toContain(createHash('sha256').update('rapport: 42 lignes\nsuite').digest('hex'));
    for (const secret of ['rapport', 'TOP SECRET', 'not this one', 'facture']) expect(text).not.toContain(secret);
    expect(verifyJournal(text, readHead(path))).toMatchObject({ ok: true });
  });
});
