/**
 * The USB storage broker: one state machine per plugged device, driven by the watcher (arrival,
 * removal), the device's mark (keyMarks.ts), the policy (rules, unknown action, choices) and the
 * user (attach from the trusted dialog or tray, eject, leave unassigned, mark or unmark — these two
 * after a trusted confirmation). Every step is journaled; the shell sees the devices only as
 * sanitised views.
 *
 *   arrival ─► unusable                (a refused mark, no filesystem, or a type the policy refuses)
 *           ─► ignored                 (policy: ignore unknown devices)
 *           ─► waiting ─► attaching    (policy: ask → the user chooses in the trusted dialog)
 *           ─► attaching               (marked for a level; a trusted rule; a fixed level)
 *   attaching ─► attached | detached (mount failed, with the reason)
 *   attached ─► ejecting ─► detached (safe to pull) | attached (busy)
 *   waiting | detached | unusable | ignored ─► preparing (mark: erase, sign, format → attaching;
 *                                               unmark: erase whole → unusable, blank)
 *   any ─► gone (pulled out: lazy unmount, never a sync on a dead device)
 */
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import type { DeviceMode } from '../../shared/policy';
import type { PolicyReader } from '../policy/policyReader';
import type { DeviceView } from '../../shared/rpc';
import { CloisonError } from '../../shared/errors';
import type { AuditJournal } from '../audit/auditJournal';
import type { Answer, Question } from '../confirm/confirmations';
import { usbText } from './usbText';
import { decideDevice, refusalFor, type DeviceDecision } from './devicePolicy';
import { displayField, mediaDirName } from './deviceText';
import type { FilesystemInfo } from './filesystemProbe';
import { dataRegion as dataRegionOf, MIN_MARKABLE_BYTES, type MarkReading } from './keyMarks';
import type { KeyMounts, KeyPreparer, KeyReader } from './keyRootActs';
import type { BlockDevice } from './sysfsBlockDevices';

type DeviceState = DeviceView['state'];

interface DeviceRecord {
  id: string;
  device: BlockDevice;
  mark: MarkReading;
  fs: FilesystemInfo | null;
  decision: DeviceDecision;
  state: DeviceState;
  level: string | null;
  mode: DeviceMode | null;
  mediaName: string | null;
  mountPoint: string | null;
  problem: string | null;
}

export interface DeviceBrokerOptions {
  policy: PolicyReader;
  /** Where keys are mounted (MediaMounts, or the cage manager's usb.mount/usb.unmount). */
  mounts: KeyMounts;
  /** How a key's mark and filesystem are read (here with the station's secret, or the manager's usb.probe). */
  reader: KeyReader;
  /** How a key is erased and marked (here, or the manager's usb.prepare). */
  preparer: KeyPreparer;
  journal: AuditJournal;
  /** The uid a level's cage runs as, or null when the level cannot receive devices. */
  cageUidOf: (level: string) => number | null;
  /** Asks the user in the trusted dialog (marking and unmarking erase the key). */
  confirm: (question: Question) => Promise<Answer>;
}

export class DeviceBroker extends EventEmitter<{ change: [DeviceView[]] }> {
  private readonly devices = new Map<string, DeviceRecord>();
  private counter = 0;
  /** Devices still being probed, by key; true once pulled out meanwhile. */
  private readonly probing = new Map<string, boolean>();

  constructor(private readonly options: DeviceBrokerOptions) {
    super();
  }

  list(): DeviceView[] {
    return [...this.devices.values()].map(viewOf);
  }

  async arrived(device: BlockDevice): Promise<void> {
    const id = `${device.name}-${++this.counter}`;
    this.probing.set(device.key, false);
    const { mark, fs, problem } = await this.examine(device);
    const pulledMeanwhile = this.probing.get(device.key);
    this.probing.delete(device.key);
    if (pulledMeanwhile) return;
    const record: DeviceRecord = { id, device, mark, fs, decision: this.decide(device, mark, fs), state: 'waiting', level: null, mode: null, mediaName: null, mountPoint: null, problem };
    this.devices.set(id, record);
    this.journal('usb.arrival', 'supervisor', record, { problem: problem ?? undefined, mark: mark.status, boundTo: record.decision.bound?.level, rule: record.decision.bound?.rule });
    await this.settle(record);
  }

  /** What the device is: its mark (fixed fields and a MAC), then its filesystem (probed in a sandbox); the policy's filesystems. */
  private async examine(device: BlockDevice): Promise<{ mark: MarkReading; fs: FilesystemInfo | null; problem: string | null }> {
    const seen = await this.options.reader.examine(device, this.options.policy.current().levels.map((l) => l.id));
    const { fs } = seen;
    if (seen.problem || !fs) return seen;
    if (!this.options.policy.current().usb.filesystems.includes(fs.type as never)) return { ...seen, problem: `filesystem "${displayField(fs.type, 20)}" is not allowed by the policy` };
    return seen;
  }

  private decide(device: BlockDevice, mark: MarkReading, fs: FilesystemInfo | null): DeviceDecision {
    return decideDevice(this.options.policy.current().usb, { vendorId: device.vendorId, productId: device.productId, serial: device.serial, uuid: fs?.uuid ?? null }, mark.status === 'valid' ? mark.level : null);
  }

  /** After arrival or preparation: unusable, ignored, waiting for the user, or attached where the mark or policy says. */
  private async settle(record: DeviceRecord): Promise<void> {
    const { decision, problem } = record;
    if (problem) return this.setState(record, 'unusable');
    const action = decision.onArrival;
    if (action === 'ignore') {
      this.journal('usb.decision', 'policy', record, { outcome: 'ignored' });
      return this.setState(record, 'ignored');
    }
    if (action === 'ask') return this.setState(record, 'waiting');
    this.journal('usb.decision', 'policy', record, { level: action.level, mode: action.mode, rule: decision.bound?.rule ?? 'usb.unknown' });
    await this.mount(record, action.level, action.mode).catch(() => undefined);
  }

  /** The user's choice (trusted dialog or tray). */
  async attach(id: string, level: string, mode: DeviceMode): Promise<DeviceView> {
    const record = this.record(id);
    if (record.state === 'attached' || record.state === 'attaching' || record.state === 'ejecting') {
      throw new CloisonError('WRONG_STATE', usbText(`the device is ${record.state}${record.level ? ` to "${record.level}"` : ''}: eject it first`));
    }
    if (record.state === 'unusable') throw new CloisonError('WRONG_STATE', usbText(`the device cannot be used: ${record.problem}`));
    if (record.state === 'preparing') throw new CloisonError('WRONG_STATE', usbText('the device is being erased or marked'));
    const refusal = refusalFor(record.decision, level, mode);
    if (refusal) {
      this.journal('usb.refused', 'user', record, { level, mode, reason: refusal });
      throw new CloisonError('POLICY_DENIED', usbText(refusal));
    }
    this.journal('usb.decision', 'user', record, { level, mode });
    await this.mount(record, level, mode);
    return viewOf(record);
  }

  dismiss(id: string): DeviceView {
    const record = this.record(id);
    if (record.state !== 'waiting') throw new CloisonError('WRONG_STATE', usbText(`the device is ${record.state}, not waiting for a decision`));
    this.journal('usb.decision', 'user', record, { outcome: 'left unassigned' });
    this.setState(record, 'detached');
    return viewOf(record);
  }

  async eject(id: string): Promise<DeviceView> {
    const record = this.record(id);
    if (record.state !== 'attached' || !record.mountPoint || !record.mode) throw new CloisonError('WRONG_STATE', usbText(`the device is ${record.state}, not attached`));
    this.setState(record, 'ejecting');
    try {
      await this.options.mounts.eject(record.mountPoint, record.device.devnode, record.mode);
    } catch (err) {
      record.problem = `still in use in the cage (a program has a file or folder open on it): close it, then eject again — ${(err as Error).message}`;
      this.journal('usb.eject-failed', 'user', record, { level: record.level ?? undefined, reason: (err as Error).message });
      this.setState(record, 'attached');
      throw new CloisonError('WRONG_STATE', usbText(record.problem));
    }
    this.journal('usb.eject', 'user', record, { level: record.level ?? undefined });
    record.mountPoint = null;
    record.problem = null;
    this.setState(record, 'detached');
    return viewOf(record);
  }

  /**
   * Marks a key for a level: after the user confirms, the key is erased at both ends — wholly when
   * it carries any mark, valid, foreign or damaged, since what it held for one level must not go to
   * another with a fresh filesystem over it —, signed with this workstation's key for that level,
   * given a fresh filesystem owned by that level's cage, and attached there read-write. Intent
   * journaled before, outcome after.
   */
  async mark(id: string, level: string): Promise<DeviceView> {
    const record = this.preparable(id);
    const uid = this.options.cageUidOf(level);
    if (uid === null) throw new CloisonError('POLICY_DENIED', usbText(`level "${level}" has no bwrap cage to use a marked key`));
    if (record.device.sizeBytes < MIN_MARKABLE_BYTES) throw new CloisonError('WRONG_STATE', usbText(`the device is too small to be marked (${record.device.sizeBytes} bytes; at least ${MIN_MARKABLE_BYTES})`));
    if (!(await this.confirmed(record, 'mark', level))) return viewOf(record);
    await this.prepare(record, 'usb.mark', { level }, () => this.options.preparer.mark(record.device, record.mark, level, uid));
    return viewOf(record);
  }

  /** Unmarks a key: after the user confirms, the whole device is overwritten (what it held goes with its mark). */
  async unmark(id: string): Promise<DeviceView> {
    const record = this.preparable(id);
    if (record.mark.status === 'none') throw new CloisonError('WRONG_STATE', usbText('the device carries no mark'));
    if (!(await this.confirmed(record, 'unmark', null))) return viewOf(record);
    // The level asking: the one its mark names, or (another workstation's or a damaged mark) one it may go to.
    const asking = record.mark.status === 'valid' ? record.mark.level : (record.decision.bound?.level ?? record.decision.choices[0]?.level ?? null);
    await this.prepare(record, 'usb.unmark', { wasMarkedFor: record.mark.status === 'valid' ? record.mark.level : record.mark.status }, async () => {
      await this.options.preparer.unmark(record.device, asking);
      return {};
    });
    return viewOf(record);
  }

  private preparable(id: string): DeviceRecord {
    const record = this.record(id);
    if (!['waiting', 'detached', 'unusable', 'ignored'].includes(record.state)) throw new CloisonError('WRONG_STATE', usbText(`the device is ${record.state}: eject it first`));
    return record;
  }

  private async confirmed(record: DeviceRecord, action: 'mark' | 'unmark', level: string | null): Promise<boolean> {
    const answer = await this.options.confirm({ kind: 'device', action, level, device: viewOf(record) });
    if (answer === 'accepted') return true;
    this.journal(`usb.${action}`, 'user', record, { ...(level ? { level } : {}), decision: answer === 'timed-out' ? 'timed-out' : 'refused' });
    return false;
  }

  /** Erases or marks (the work), then looks at the device afresh and settles it as on arrival. */
  private async prepare(record: DeviceRecord, kind: 'usb.mark' | 'usb.unmark', fields: Record<string, string>, work: () => Promise<Record<string, string>>): Promise<void> {
    this.journal(kind, 'user', record, { ...fields, decision: 'approved' });
    this.setState(record, 'preparing');
    try {
      const done = await work();
      this.journal(kind, 'supervisor', record, { ...fields, ...done, outcome: 'done' });
    } catch (err) {
      this.journal(kind, 'supervisor', record, { ...fields, outcome: 'failed', reason: (err as Error).message });
      record.problem = `${kind === 'usb.mark' ? 'marking' : 'erasing'} failed: ${(err as Error).message}`;
      if (this.devices.has(record.id)) this.setState(record, 'unusable');
      throw new CloisonError('WRONG_STATE', usbText(record.problem));
    }
    if (!this.devices.has(record.id)) return; // pulled out meanwhile
    Object.assign(record, await this.examine(record.device), { level: null, mode: null, mediaName: null });
    record.decision = this.decide(record.device, record.mark, record.fs);
    await this.settle(record);
  }

  /** Pulled out: whatever its state, detach at once and forget it. */
  async removed(device: BlockDevice): Promise<void> {
    if (this.probing.has(device.key)) this.probing.set(device.key, true);
    const record = [...this.devices.values()].find((r) => r.device.key === device.key);
    if (!record) return;
    // Unmount first, then forget: once the device leaves the list, its mount is gone too.
    const wasMounted = record.mountPoint;
    record.mountPoint = null;
    if (wasMounted) await this.options.mounts.detachGone(wasMounted, record.device.devnode);
    // A loop device (a training key) outlives its key and keeps a read-only flag: lift it once free.
    if (wasMounted && record.mode === 'read-only' && record.device.bus === 'loop' && !existsSync(`/sys/block/${record.device.name}/loop/backing_file`)) {
      await this.options.mounts.releaseReadOnly(record.device.devnode).catch(() => undefined);
    }
    this.devices.delete(record.id);
    this.journal('usb.removal', 'supervisor', record, { whileAttached: Boolean(wasMounted), level: wasMounted ? (record.level ?? undefined) : undefined });
    this.emit('change', this.list());
  }

  /** Supervisor stopping: unmount everything (the devices stay plugged). */
  async close(): Promise<void> {
    for (const record of this.devices.values()) {
      if (record.mountPoint) await this.options.mounts.detachGone(record.mountPoint, record.device.devnode);
    }
    this.devices.clear();
  }

  private async mount(record: DeviceRecord, level: string, mode: DeviceMode): Promise<void> {
    const uid = this.options.cageUidOf(level);
    if (uid === null) {
      record.problem = `level "${level}" has no bwrap cage to receive devices`;
      this.setState(record, 'detached');
      throw new CloisonError('POLICY_DENIED', usbText(record.problem));
    }
    const fs = record.fs!;
    const taken = new Set([...this.devices.values()].filter((r) => r.level === level && r.mountPoint).map((r) => r.mediaName!));
    const name = mediaDirName(fs.label, `usb-${(fs.uuid ?? record.device.name).slice(0, 8)}`, taken);
    Object.assign(record, { level, mode, mediaName: name, problem: null });
    this.setState(record, 'attaching');
    try {
      const region = record.mark.status === 'valid' || record.mark.status === 'foreign' ? dataRegionOf(record.device.sizeBytes) : undefined;
      record.mountPoint = await this.options.mounts.mount({ devnode: record.device.devnode, fsType: fs.type, mode, level, name, uid, ...(region ? { region } : {}) });
    } catch (err) {
      record.problem = `could not mount the filesystem (${displayField(fs.type, 20)}): ${(err as Error).message}`;
        this.journal('usb.attach-failed', 'supervisor', record, { level, mode, reason: (err as Error).message });
      this.setState(record, 'detached');
      throw new CloisonError('WRONG_STATE', usbText(record.problem));
    }
    // Pulled out while we were mounting.
    if (!this.devices.has(record.id)) return void (await this.options.mounts.detachGone(record.mountPoint, record.device.devnode));
    this.journal('usb.attach', 'supervisor', record, { level, mode, folder: name });
    this.setState(record, 'attached');
  }

  private record(id: string): DeviceRecord {
    const record = this.devices.get(id);
    if (!record) throw new CloisonError('WRONG_STATE', usbText('no such device (it was pulled out)'));
    return record;
  }

  private setState(record: DeviceRecord, state: DeviceState): void {
    record.state = state;
    this.emit('change', this.list());
  }

  private journal(kind: string, actor: string, record: DeviceRecord, fields: Record<string, string | number | boolean | undefined>): void {
    const view = viewOf(record);
    const defined = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)) as Record<string, string | number | boolean>;
    this.options.journal.append(kind, actor, {
      device: record.id, bus: view.bus, vendorId: view.vendorId, productId: view.productId, serial: view.serial,
      sizeBytes: view.sizeBytes, fsType: view.fsType ?? '', label: view.label ?? '', uuid: view.uuid ?? '',
      ...defined,
    });
  }
}

function markView(mark: MarkReading): DeviceView['mark'] {
  return { status: mark.status, level: mark.status === 'valid' ? mark.level : null, reason: mark.status === 'invalid' ? mark.reason : null, ...(mark.status === 'invalid' ? { reasonText: usbText(mark.reason) } : {}) };
}

function viewOf(r: DeviceRecord): DeviceView {
  return {
    id: r.id, bus: r.device.bus,
    vendorId: displayField(r.device.vendorId, 8), productId: displayField(r.device.productId, 8),
    vendor: displayField(r.device.vendor), product: displayField(r.device.product), serial: displayField(r.device.serial),
    sizeBytes: r.device.sizeBytes,
    fsType: r.fs ? displayField(r.fs.type, 20) : null,
    label: r.fs?.label != null ? displayField(r.fs.label) : null,
    uuid: r.fs?.uuid != null ? displayField(r.fs.uuid, 64) : null,
    state: r.state, level: r.level, mode: r.mode, mediaName: r.mediaName,
    boundTo: r.decision.bound, choices: r.decision.choices, preselect: r.decision.preselect, mark: markView(r.mark), problem: r.problem, ...(r.problem ? { problemText: usbText(r.problem) } : {}),
    // Nothing mounted and no mount under way: pulling it out loses nothing.
    safeToRemove: r.mountPoint === null && r.state !== 'attaching',
  };
}
