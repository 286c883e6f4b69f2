/* eslint-disable @typescript-eslint/no-explicit-any -- RPC results are untyped JSON here */
/**
 * Keys marked for a level (CLIP OS 4), end to end in the supervisor: real loop devices, two real
 * cages, the RPC a shell uses (the trusted dialog's answers included), and what each cage can do.
 * An identity that matches a rule is only a suggestion; a key this workstation marked for high goes
 * to high read-write and nowhere else, even by RPC; another workstation's mark counts as none; a
 * forged, truncated or altered mark is refused with its reason; unmarking, and re-marking a key
 * that carries any mark, erase every byte. The
 * media probe runs in a sandbox where a hostile program can neither write the key nor reach
 * anything else.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, openSync, readFileSync, truncateSync, writeSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Supervisor } from '../supervisor';
import { LoopKeys } from '../testing/loopKeys';
import { cageShell, type CageShell, innerPidOf, testRoot } from '../testing/realCage';
import { answerAfterReading, type RpcClient } from '../testing/rpcClient';
import { bwrapCage, twoLevelPolicy } from '../testing/testPolicy';
import { startTestSupervisor, type TestSupervisor } from '../testing/testSupervisor';
import { runProbe } from './filesystemProbe';
import { buildHeader, DATA_OFFSET, loadOrCreateStationKeys, MARK_BYTES, type StationKeys } from './keyMarks';

const LOW_UID = 59991;
const HIGH_UID = 59992;
const CLONED_UUID = '6a0e4c1b-2f3d-4e5a-8b9c-0d1e2f3a4b5c';
const MiB = 1024 * 1024;

describe('marked USB keys (real loop devices, real cages)', () => {
  const root = testRoot('cloison-mark-');
  const keys = new LoopKeys(root);
  const policyText = twoLevelPolicy(
    { low: bwrapCage({ uid: LOW_UID }), high: bwrapCage({ uid: HIGH_UID }) },
    `usb:
  loopDevices: { backingDir: ${keys.backingDir} }
  rules:
    - { name: "high team key", match: { uuid: "${CLONED_UUID}" }, level: high, mode: read-write }
`,
  );
  let t: TestSupervisor;
  let sup: Supervisor;
  let rpc: RpcClient;
  let low: CageShell;
  let high: CageShell;
  let station: StationKeys;

  beforeAll(async () => {
    t = await startTestSupervisor(policyText, { root, deviceScanMs: 150 });
    ({ sup, rpc } = t);
    low = cageShell(innerPidOf(sup, 'low'), LOW_UID);
    high = cageShell(innerPidOf(sup, 'high'), HIGH_UID);
    station = loadOrCreateStationKeys(join(root, 'state', 'usb-mark.key'));
  }, 60_000);
  afterAll(async () => {
    await t?.stop();
    await keys.cleanup();
  });

  async function deviceWhere(pick: (d: any) => boolean, timeoutMs = 15_000): Promise<any> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const found = (await rpc.call('devices.list', {})).result.devices.find(pick);
      if (found) return found;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('device did not reach the expected state');
  }
  const journal = (): Array<Record<string, any>> => readFileSync(join(root, 'state', 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));

  /** Asks the supervisor to mark or unmark, answering its trusted dialog as a user does. */
  async function confirmed(method: 'devices.mark' | 'devices.unmark', params: Record<string, string>): Promise<any> {
    const asked = rpc.next('onConfirmRequest');
    const call = rpc.call(method, params);
    const question = await asked;
    expect(question).toMatchObject({ kind: 'device', action: method === 'devices.mark' ? 'mark' : 'unmark' });
    await answerAfterReading(rpc, { id: question.id, accept: true });
    return call;
  }

  /** Writes a mark into an image (both ends) and an ext4 filesystem between them. */
  function markImage(image: string, keys_: StationKeys, level: string, header?: Buffer): void {
    const size = readFileSync(image).length;
    execFileSync('mkfs.ext4', ['-q', '-F', '-E', `offset=${DATA_OFFSET}`, '-L', 'MARKED', image, `${(size - 2 * DATA_OFFSET) / 1024}k`]);
    const h = header ?? buildHeader(keys_, level, size);
    const fd = openSync(image, 'r+');
    writeSync(fd, h, 0, MARK_BYTES, 0);
    writeSync(fd, h, 0, MARK_BYTES, size - MARK_BYTES);
    closeSync(fd);
  }

  it('an identity that matches a rule is only a suggestion: no mark, no high read-write, even by RPC', async () => {
    const key = await keys.plug({ format: 'ext4', fileName: 'cloned.img', label: 'CLONED', uuid: CLONED_UUID, files: { 'a.txt': 'a\n' } });
    const waiting = await deviceWhere((d) => d.label === 'CLONED' && d.state === 'waiting');
    expect(waiting).toMatchObject({ boundTo: null, mark: { status: 'none' }, preselect: { level: 'high', mode: 'read-only' } });
    expect(await rpc.call('devices.attach', { id: waiting.id, level: 'high', mode: 'read-write' })).toMatchObject({ ok: false, error: { code: 'POLICY_DENIED' } });
    expect((await high('ls -A ~/Media')).stdout).toBe('');
    await rpc.call('devices.dismiss', { id: waiting.id });
    await key.pull();
  });

  it('marked for high here: attached high read-write, refused low even by RPC, recognised when plugged again', async () => {
    const key = await keys.plug({ format: 'ext4', fileName: 'tomark.img', label: 'OLD', sizeMiB: 32, files: { 'old.txt': 'low data\n' } });
    const d = await deviceWhere((x) => x.label === 'OLD' && x.state === 'waiting');
    const marked = await confirmed('devices.mark', { id: d.id, level: 'high' });
    expect(marked).toMatchObject({ ok: true, result: { state: 'attached', level: 'high', mode: 'read-write', mark: { status: 'valid', level: 'high' }, boundTo: { level: 'high', mode: 'read-write' } } });
    const folder = marked.result.mediaName;
    expect((await high(`echo secret > ~/Media/${folder}/plan.txt && cat ~/Media/${folder}/plan.txt`)).stdout).toBe('secret\n');
    expect((await high(`ls ~/Media/${folder}`)).stdout).not.toContain('old.txt'); // erased before marking
    expect((await low('ls -A ~/Media')).stdout).toBe('');
    expect(journal().filter((r) => r.kind === 'usb.mark' && r.device === d.id).map((r) => r.decision ?? r.outcome)).toEqual(['approved', 'done']);

    await rpc.call('devices.eject', { id: d.id });
    const refused = await rpc.call('devices.attach', { id: d.id, level: 'low', mode: 'read-write' });
    expect(refused).toMatchObject({ ok: false, error: { code: 'POLICY_DENIED', message: expect.stringContaining('bound to level "high"') } });
    expect((await low('ls -A ~/Media')).stdout).toBe('');

    // Out and in again: the same key, recognised as marked here for high, its file still there.
    const copy = join(root, 'staging', 'again.img');
    copyFileSync(key.image, copy);
    await key.pull();
    await deviceWhere((x) => x.id === d.id).then(
      () => new Promise((r) => setTimeout(r, 500)),
      () => undefined,
    );
    const again = await keys.plugImage(copy, 'again.img');
    const back = await deviceWhere((x) => x.serial === 'again.img' && x.state === 'attached');
    expect(back).toMatchObject({ level: 'high', mode: 'read-write', mark: { status: 'valid', level: 'high' } });
    expect((await high(`cat ~/Media/${back.mediaName}/plan.txt`)).stdout).toBe('secret\n');
    await rpc.call('devices.eject', { id: back.id });

    // Unmarked: every byte of it erased, the secret with it; journaled.
    const unmarked = await confirmed('devices.unmark', { id: back.id });
    expect(unmarked).toMatchObject({ ok: true, result: { mark: { status: 'none' }, state: 'unusable' } });
    expect(readFileSync(again.image).every((b) => b === 0)).toBe(true);
    expect(journal().filter((r) => r.kind === 'usb.unmark').map((r) => r.decision ?? r.outcome)).toEqual(['approved', 'done']);
    await again.pull();
  });

  it("another workstation's mark counts as none: the usual choices, high read-only", async () => {
    const elsewhere = loadOrCreateStationKeys(join(root, 'other-station.key'));
    const key = await keys.plug({ format: 'blank', fileName: 'foreign.img', sizeMiB: 32, alter: (image) => markImage(image, elsewhere, 'high') });
    const d = await deviceWhere((x) => x.serial === 'foreign.img' && x.state === 'waiting');
    expect(d).toMatchObject({ mark: { status: 'foreign' }, boundTo: null, fsType: 'ext4', label: 'MARKED' });
    expect(await rpc.call('devices.attach', { id: d.id, level: 'high', mode: 'read-write' })).toMatchObject({ ok: false, error: { code: 'POLICY_DENIED' } });
    expect(await rpc.call('devices.attach', { id: d.id, level: 'high', mode: 'read-only' })).toMatchObject({ ok: true, result: { state: 'attached' } });
    expect((await high('echo x > ~/Media/MARKED/x.txt')).stderr).toMatch(/Read-only file system/);
    await rpc.call('devices.eject', { id: d.id });
    await key.pull();
  });

  it('a forged, altered or truncated mark is refused with the reason', async () => {
    const forgedHeader = (image: string) => {
      const size = readFileSync(image).length;
      const h = buildHeader(station, 'high', size);
      h.writeUInt8(h.readUInt8(97) ^ 0xff, 97); // one byte of the signature
      markImage(image, station, 'high', h);
    };
    const cases: Array<[string, (image: string) => void, RegExp]> = [
      ['forged.img', forgedHeader, /forged mark/],
      ['retarget.img', (image) => {
        markImage(image, station, 'high');
        const fd = openSync(image, 'r+');
        const size = readFileSync(image).length;
        for (const at of [32, size - MARK_BYTES + 32]) writeSync(fd, Buffer.from('low\0'), 0, 4, at); // high → low, signature kept
        closeSync(fd);
      }, /forged mark/],
      ['truncated.img', (image) => {
        markImage(image, station, 'high');
        truncateSync(image, readFileSync(image).length - MiB);
      }, /truncated or damaged mark/],
      ['onecopy.img', (image) => {
        markImage(image, station, 'high');
        const fd = openSync(image, 'r+');
        writeSync(fd, Buffer.alloc(16), 0, 16, 0);
        closeSync(fd);
      }, /damaged mark/],
    ];
    for (const [name, alter, reason] of cases) {
      const key = await keys.plug({ format: 'blank', fileName: name, sizeMiB: 32, alter });
      const d = await deviceWhere((x) => x.serial === name && x.state === 'unusable');
      expect(d, name).toMatchObject({ mark: { status: 'invalid' }, problem: expect.stringMatching(reason) });
      expect((await rpc.call('devices.attach', { id: d.id, level: 'high', mode: 'read-only' })).ok, name).toBe(false);
      expect(journal().find((r) => r.kind === 'usb.arrival' && r.device === d.id), name).toMatchObject({ mark: 'invalid', problem: expect.stringMatching(reason) });
      await key.pull();
    }
    expect((await high('ls -A ~/Media')).stdout).toBe('');
  });

  it('re-marking a damaged high key for low erases all it held, not only its two ends (issue #27)', async () => {
    const secret = Buffer.from('HIGH-ONLY: plans for the high level, never for low');
    const key = await keys.plug({
      format: 'blank',
      fileName: 'damaged-high.img',
      sizeMiB: 32,
      alter: (image) => {
        markImage(image, station, 'high');
        const size = readFileSync(image).length;
        const fd = openSync(image, 'r+');
        for (const at of [DATA_OFFSET + MiB, size / 2, size - DATA_OFFSET - MiB]) writeSync(fd, secret, 0, secret.length, at); // what high wrote
        writeSync(fd, Buffer.alloc(16), 0, 16, 0); // the first copy of the mark damaged: shown as invalid
        closeSync(fd);
      },
    });
    const d = await deviceWhere((x) => x.serial === 'damaged-high.img' && x.state === 'unusable');
    expect(d).toMatchObject({ mark: { status: 'invalid' } });
    const marked = await confirmed('devices.mark', { id: d.id, level: 'low' });
    expect(marked).toMatchObject({ ok: true, result: { state: 'attached', level: 'low', mark: { status: 'valid', level: 'low' } } });
    expect(readFileSync(key.image).includes(secret)).toBe(false);
    expect(journal().filter((r) => r.kind === 'usb.mark' && r.device === d.id).at(-1)).toMatchObject({ outcome: 'done', erased: 'whole' });
    await rpc.call('devices.eject', { id: d.id });
    await key.pull();
  });

  it('the media probe runs without any capability: a hostile probe can neither write the key nor reach the host', async () => {
    const key = await keys.plug({ format: 'ext4', fileName: 'probe.img', label: 'PROBE' });
    await deviceWhere((x) => x.label === 'PROBE');
    const before = execFileSync('sha256sum', [key.image]).toString();
    const attack = [
      'grep -E "^Cap(Prm|Eff|Bnd)" /proc/self/status',
      'echo pwned > /dev/key && echo WROTE-DEVICE',
      'blockdev --setrw /dev/key && echo SETRW',
      'ls /etc/shadow 2>/dev/null && echo SAW-SHADOW',
      `ls ${root} 2>/dev/null && echo SAW-STATE`,
      'cat /proc/net/dev | tail -n +3 | cut -d: -f1',
    ].join('; ');
    const out = (await runProbe(key.devnode, ['/bin/sh', '-c', attack])).stdout;
    expect(out).toMatch(/CapPrm:\s+0+\n/);
    expect(out).toMatch(/CapEff:\s+0+\n/);
    expect(out).toMatch(/CapBnd:\s+0+\n/);
    expect(out).not.toMatch(/WROTE-DEVICE|SETRW|SAW-SHADOW|SAW-STATE/);
    expect(out.trim().split('\n').at(-1)!.trim()).toBe('lo'); // no network but its own loopback
    expect(execFileSync('sha256sum', [key.image]).toString()).toBe(before);
    await key.pull();
  });
});
