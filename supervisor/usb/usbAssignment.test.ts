/* eslint-disable @typescript-eslint/no-explicit-any -- RPC results are untyped JSON here */
/**
 * USB storage assignment end to end in the supervisor: real loop devices over vfat and ext4
 * images, two real cages, the RPC a shell uses, and what each cage can (not) see and do.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Supervisor } from '../supervisor';
import { kernelHasFilesystem, LoopKeys } from '../testing/loopKeys';
import { skipWithReason } from '../testing/skipWithReason';
import { cageShell, type CageShell, innerPidOf, testRoot } from '../testing/realCage';
import type { RpcClient } from '../testing/rpcClient';
import { bwrapCage, twoLevelPolicy } from '../testing/testPolicy';
import { startTestSupervisor, type TestSupervisor } from '../testing/testSupervisor';
import { mountPointsUnder } from './mediaMounts';

const LOW_UID = 58656;
const HIGH_UID = 58657;
const HIGH_KEY_UUID = '0b7c3a52-6f55-4c3e-9d0f-3f1f6a1e2b10';

describe('USB storage assignment (real loop devices, real cages)', () => {
  const root = testRoot('cloison-usb-');
  const keys = new LoopKeys(root);
  const policyText = twoLevelPolicy(
    { low: bwrapCage({ uid: LOW_UID }), high: bwrapCage({ uid: HIGH_UID }) },
    `usb:
  loopDevices: { backingDir: ${keys.backingDir} }
  trustDeviceIdentity: true   # the rule below binds by identity (spoofable: markedKeys.test.ts has the default)
  rules:
    - { name: "high team key", match: { uuid: "${HIGH_KEY_UUID}" }, level: high, mode: read-only }
`,
  );
  let t: TestSupervisor;
  let sup: Supervisor;
  let rpc: RpcClient;
  let low: CageShell;
  let high: CageShell;

  beforeAll(async () => {
    t = await startTestSupervisor(policyText, { root, deviceScanMs: 150 });
    ({ sup, rpc } = t);
    low = cageShell(innerPidOf(sup, 'low'), LOW_UID);
    high = cageShell(innerPidOf(sup, 'high'), HIGH_UID);
  }, 60_000);
  afterAll(async () => {
    await t?.stop();
    await keys.cleanup();
  });

  /** Waits until the device list has a device matching `pick`. */
  async function deviceWhere(pick: (d: any) => boolean, timeoutMs = 10_000): Promise<any> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const { result } = await rpc.call('devices.list', {});
      const found = result.devices.find(pick);
      if (found) return found;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('device did not reach the expected state');
  }

  const journal = (): Array<Record<string, unknown>> =>
    readFileSync(join(root, 'state', 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));

  it('an unknown key waits for the user; low read-write: readable and writable in low only', async () => {
    const uuid = '5d1c8e9a-0f3b-4b7e-8a51-2c4d6e8f0a1b';
    // An ext4 key keeps its owners: this one was formatted by the low cage's user.
    const key = await keys.plug({ format: 'ext4', fileName: 'plain.img', label: 'PLAIN', uuid, owner: LOW_UID, files: { 'hello.txt': 'from the key\n' } });
    const waiting = await deviceWhere((d) => d.label === 'PLAIN' && d.state === 'waiting');
    expect(waiting).toMatchObject({ bus: 'loop', fsType: 'ext4', uuid, serial: 'plain.img', boundTo: null, sizeBytes: 8 * 1024 * 1024 });
    expect(waiting.choices).toEqual([{ level: 'low', mode: 'read-write' }, { level: 'high', mode: 'read-only' }]);

    const attached = await rpc.call('devices.attach', { id: waiting.id, level: 'low', mode: 'read-write' });
    expect(attached).toMatchObject({ ok: true, result: { state: 'attached', level: 'low', mode: 'read-write', mediaName: 'PLAIN' } });
    expect((await low('cat ~/Media/PLAIN/hello.txt')).stdout).toBe('from the key\n');
    expect((await low('echo written > ~/Media/PLAIN/new.txt && cat ~/Media/PLAIN/new.txt')).stdout).toBe('written\n');
    // Not executable, no device nodes, no setuid: the mount's own flags, seen from inside the cage.
    expect((await low('grep " /home/cloison/Media/PLAIN " /proc/self/mountinfo')).stdout).toMatch(/nosuid,nodev,noexec/);
    expect((await high('ls -A ~/Media; grep -c Media/PLAIN /proc/self/mountinfo')).stdout).toBe('0\n');
    // Host users cannot walk into a mounted key either: the media root is root's alone.
    expect(statSync(join(root, 'run', 'media')).mode & 0o777).toBe(0o700);

    await rpc.call('devices.eject', { id: waiting.id });
    await key.pull();
  });

  it('high read-only: readable and not writable in high only, and nothing written to the device', async () => {
    const key = await keys.plug({ format: 'ext4', fileName: 'docs.img', label: 'DOCS', files: { 'secret.txt': 'classified\n' } });
    const waiting = await deviceWhere((d) => d.label === 'DOCS' && d.state === 'waiting');
    const before = execFileSync('sha256sum', [key.image]).toString();
    const r = await rpc.call('devices.attach', { id: waiting.id, level: 'high', mode: 'read-only' });
    expect(r.result).toMatchObject({ state: 'attached', level: 'high', mode: 'read-only' });
    expect((await high('cat ~/Media/DOCS/secret.txt')).stdout).toBe('classified\n');
    const write = await high('echo x > ~/Media/DOCS/new.txt');
    expect(write.code).not.toBe(0);
    expect(write.stderr).toMatch(/Read-only file system/);
    expect((await low('ls -A ~/Media')).stdout).toBe('');
    // A choice the policy does not offer is refused, even through the RPC.
    await rpc.call('devices.eject', { id: waiting.id });
    const rw = await rpc.call('devices.attach', { id: waiting.id, level: 'high', mode: 'read-write' });
    expect(rw).toMatchObject({ ok: false, error: { code: 'POLICY_DENIED' } });
    expect(execFileSync('sha256sum', [key.image]).toString()).toBe(before);
    await key.pull();
  });

  it('a key bound to high by a rule is attached there without asking, and never low — not even by RPC', async () => {
    const key = await keys.plug({ format: 'ext4', fileName: 'team.img', label: 'TEAM', uuid: HIGH_KEY_UUID, files: { 'plan.txt': 'plan\n' } });
    const bound = await deviceWhere((d) => d.label === 'TEAM' && d.state === 'attached');
    expect(bound).toMatchObject({ level: 'high', mode: 'read-only', boundTo: { level: 'high', mode: 'read-only', rule: 'high team key' } });
    expect((await high('cat ~/Media/TEAM/plan.txt')).stdout).toBe('plan\n');
    expect(await rpc.call('devices.attach', { id: bound.id, level: 'low', mode: 'read-write' })).toMatchObject({ ok: false, error: { code: 'WRONG_STATE' } });
    await rpc.call('devices.eject', { id: bound.id });
    const refused = await rpc.call('devices.attach', { id: bound.id, level: 'low', mode: 'read-only' });
    expect(refused).toMatchObject({ ok: false, error: { code: 'POLICY_DENIED', message: expect.stringContaining('bound to level "high"') } });
    expect((await low('ls -A ~/Media')).stdout).toBe('');
    expect(journal().some((r) => r.kind === 'usb.decision' && r.actor === 'policy' && r.level === 'high' && r.rule === 'high team key')).toBe(true);
    expect(journal().some((r) => r.kind === 'usb.refused' && r.level === 'low')).toBe(true);
    await key.pull();
  });

  // FAT keys have no owners: the supervisor mounts them as the receiving cage's user.
  it('a FAT key attached low read-write is the low user\'s, readable and writable', async (ctx) => {
    if (!kernelHasFilesystem('vfat')) skipWithReason(ctx, 'this kernel has no vfat driver (not in /proc/filesystems): FAT keys cannot be mounted here');
    const key = await keys.plug({ format: 'vfat', fileName: 'fat.img', label: 'FATKEY', uuid: '1234abcd', files: { 'hello.txt': 'fat\n' } });
    const d = await deviceWhere((x) => x.label === 'FATKEY' && x.state === 'waiting');
    expect(d).toMatchObject({ fsType: 'vfat', uuid: '1234-ABCD' });
    await rpc.call('devices.attach', { id: d.id, level: 'low', mode: 'read-write' });
    expect((await low('cat ~/Media/FATKEY/hello.txt && echo w > ~/Media/FATKEY/w.txt && stat -c %u ~/Media/FATKEY/w.txt')).stdout).toBe(`fat\n${LOW_UID}\n`);
    await rpc.call('devices.eject', { id: d.id });
    await key.pull();
  });

  it('eject then attach to the other level; the first cage no longer sees it', async () => {
    const key = await keys.plug({ format: 'ext4', fileName: 'move.img', label: 'MOVE', files: { 'a.txt': 'a\n' } });
    const d = await deviceWhere((x) => x.label === 'MOVE' && x.state === 'waiting');
    await rpc.call('devices.attach', { id: d.id, level: 'low', mode: 'read-write' });
    expect((await rpc.call('devices.attach', { id: d.id, level: 'high', mode: 'read-only' })).error?.code).toBe('WRONG_STATE');
    const ejected = await rpc.call('devices.eject', { id: d.id });
    expect(ejected.result).toMatchObject({ state: 'detached', safeToRemove: true });
    expect((await low('ls -A ~/Media')).stdout).toBe('');
    await rpc.call('devices.attach', { id: d.id, level: 'high', mode: 'read-only' });
    expect((await high('cat ~/Media/MOVE/a.txt')).stdout).toBe('a\n');
    expect((await low('ls -A ~/Media')).stdout).toBe('');
    const kinds = journal().filter((r) => r.device === d.id).map((r) => `${r.kind}:${r.actor}${r.level ? `:${r.level}` : ''}`);
    expect(kinds).toEqual(['usb.arrival:supervisor', 'usb.decision:user:low', 'usb.attach:supervisor:low', 'usb.eject:user:low', 'usb.decision:user:high', 'usb.attach:supervisor:high']);
    await rpc.call('devices.eject', { id: d.id });
    await key.pull();
  });

  it('eject of a key a cage program still uses is refused with the reason; nothing is lost', async () => {
    const key = await keys.plug({ format: 'ext4', fileName: 'busy.img', label: 'BUSY', owner: LOW_UID, files: { 'f.txt': 'f\n' } });
    const d = await deviceWhere((x) => x.label === 'BUSY' && x.state === 'waiting');
    await rpc.call('devices.attach', { id: d.id, level: 'low', mode: 'read-write' });
    await low(`sh -c 'echo $$ > /tmp/holder.pid; exec 3< ~/Media/BUSY/f.txt; exec sleep 30' >/dev/null 2>&1 &`);
    const refused = await rpc.call('devices.eject', { id: d.id });
    expect(refused).toMatchObject({ ok: false, error: { code: 'WRONG_STATE', message: expect.stringContaining('still in use in the cage') } });
    expect((await rpc.call('devices.list', {})).result.devices.find((x: any) => x.id === d.id)).toMatchObject({ state: 'attached', safeToRemove: false });
    expect((await low('cat ~/Media/BUSY/f.txt')).stdout).toBe('f\n');
    await low('kill $(cat /tmp/holder.pid)');
    // Once the program has exited (the kill is asynchronous), the same eject succeeds.
    let ejected = await rpc.call('devices.eject', { id: d.id });
    for (let i = 0; i < 50 && !ejected.ok; i++) {
      await new Promise((r) => setTimeout(r, 100));
      ejected = await rpc.call('devices.eject', { id: d.id });
    }
    expect(ejected.result).toMatchObject({ state: 'detached', safeToRemove: true });
    expect(journal().some((r) => r.kind === 'usb.eject-failed' && r.device === d.id)).toBe(true);
    await key.pull();
  });

  it('pulled out while attached: no stale mount, no hung process, both cages keep working', async () => {
    const key = await keys.plug({ format: 'ext4', fileName: 'yank.img', label: 'YANK', owner: LOW_UID, files: { 'f.txt': 'f\n' } });
    const d = await deviceWhere((x) => x.label === 'YANK' && x.state === 'waiting');
    await rpc.call('devices.attach', { id: d.id, level: 'low', mode: 'read-write' });
    // A cage program sitting in the folder must not keep the device (or us) hanging.
    await low('cd ~/Media/YANK && (sleep 30 >/dev/null 2>&1 &) ; true');
    await key.pull();
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && (await rpc.call('devices.list', {})).result.devices.some((x: any) => x.id === d.id)) await new Promise((r) => setTimeout(r, 100));
    expect((await rpc.call('devices.list', {})).result.devices.some((x: any) => x.id === d.id)).toBe(false);
    expect(mountPointsUnder(join(root, 'run', 'media', 'low'))).toEqual([]);
    expect(existsSync(join(root, 'run', 'media', 'low', 'YANK'))).toBe(false);
    expect((await low('grep -c Media/YANK /proc/self/mountinfo')).stdout).toBe('0\n');
    expect((await low('echo still-fine')).stdout).toBe('still-fine\n');
    expect((await high('echo still-fine')).stdout).toBe('still-fine\n');
    const removal = journal().find((r) => r.kind === 'usb.removal' && r.device === d.id);
    expect(removal).toMatchObject({ whileAttached: true, level: 'low' });
    expect(sup.cages.get('low')!.state.status).toBe('running');
  });

  it('a hostile label and a long serial are shown sanitised and land as one safe folder', async () => {
    const longName = `${'k'.repeat(240)}.img`;
    const key = await keys.plug({ format: 'ext4', fileName: longName, label: '../\u001b[31m\u0007x/..' });
    const d = await deviceWhere((x) => x.serial.startsWith('kkk') && x.state === 'waiting');
    expect(d.label).toBe('../⟨U+001B⟩[31m⟨U+0007⟩x/..');
    expect([...d.serial].length).toBeLessThanOrEqual(97);
    expect(d.serial.endsWith('…')).toBe(true);
    const r = await rpc.call('devices.attach', { id: d.id, level: 'low', mode: 'read-only' });
    expect(r.ok).toBe(false); // read-only is not a choice for low under the default choices
    const ok = await rpc.call('devices.attach', { id: d.id, level: 'low', mode: 'read-write' });
    expect(ok.result.mediaName).toBe('__[31m_x_..');
    expect((await low('ls -A ~/Media')).stdout).toBe('__[31m_x_..\n');
    expect(existsSync(join(root, 'run', 'media', '__[31m_x_..'))).toBe(false);
    await rpc.call('devices.eject', { id: d.id });
    await key.pull();
  });

  it('a blank key and a corrupt filesystem give a clear outcome and leave the cages working', async () => {
    const blank = await keys.plug({ format: 'blank', fileName: 'blank.img' });
    const unusable = await deviceWhere((x) => x.serial === 'blank.img' && x.state === 'unusable');
    expect(unusable.problem).toMatch(/no filesystem recognised/);
    expect((await rpc.call('devices.attach', { id: unusable.id, level: 'low', mode: 'read-write' })).error?.code).toBe('WRONG_STATE');

    const corrupt = await keys.plug({ format: 'corrupt-ext4', fileName: 'corrupt.img', label: 'BROKEN' });
    const d = await deviceWhere((x) => x.label === 'BROKEN' && x.state === 'waiting');
    const r = await rpc.call('devices.attach', { id: d.id, level: 'low', mode: 'read-write' });
    expect(r).toMatchObject({ ok: false, error: { message: expect.stringMatching(/could not mount the filesystem \(ext4\)/) } });
    const after = await deviceWhere((x) => x.id === d.id);
    expect(after).toMatchObject({ state: 'detached', problem: expect.stringContaining('could not mount') });
    expect((await low('ls -A ~/Media')).stdout).toBe('');
    expect(mountPointsUnder(join(root, 'run', 'media'))).toEqual([join(root, 'run', 'media')]);
    expect((await high('echo ok')).stdout).toBe('ok\n');
    expect(journal().some((r) => r.kind === 'usb.attach-failed' && r.device === d.id)).toBe(true);
    await blank.pull();
    await corrupt.pull();
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(keys.backingDir);
  });
});
