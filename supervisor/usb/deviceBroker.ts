/**
 * The USB storage broker: one state machine per plugged device, driven by the watcher (arrival,
 * removal), the policy (rules, unknown action, choices) and the user (attach from the trusted
 * dialog or tray, eject, leave unassigned). Every step is journaled; the shell sees the devices
 * only as sanitised views.
 *
 *   arrival ─► unusable                (no filesystem, or a type the policy does not allow)
 *           ─► ignored                 (policy: ignore unknown devices)
 *           ─► waiting ─► attaching    (policy: ask → the user chooses in the trusted dialog)
 *           ─► attaching               (a rule, or a fixed level for unknown devices)
 *   attaching ─► attached | detached (mount failed, with the reason)
 *   attached ─► ejecting ─► detached (safe to pull) | attached (busy)
 *   any ─► gone (pulled out: lazy unmount, never a sync on a dead device)
 */
import { EventEmitter } from 'node:events';
import type { DeviceMode, Policy } from '../../shared/policy';
import type { DeviceView } from '../../shared/rpc';
import { CloisonError } from '../../shared/errors';
import type { AuditJournal } from '../audit/auditJournal';
import { decideDevice, refusalFor, type DeviceDecision } from './devicePolicy';
import { displayField, mediaDirName } from './deviceText';
import { probeFilesystem, type FilesystemInfo } from './filesystemProbe';
import type { MediaMounts } from './mediaMounts';
import type { BlockDevice } from './sysfsBlockDevices';

type DeviceState = DeviceView['state'];

interface DeviceRecord {
  id: string;
  device: BlockDevice;
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
  policy: Policy;
  mounts: MediaMounts;
  journal: AuditJournal;
  /** The uid a level's cage runs as, or null when the level cannot receive devices. */
  cageUidOf: (level: string) => number | null;
  probe?: (devnode: string) => Promise<FilesystemInfo | null>;
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
    let fs: FilesystemInfo | null = null;
    let problem: string | null = null;
    this.probing.set(device.key, false);
    try {
      fs = await (this.options.probe ?? probeFilesystem)(device.devnode);
      if (!fs) problem = 'no filesystem recognised (blank, encrypted, or damaged beyond recognition)';
    } catch (err) {
      problem = (err as Error).message;
    }
    const pulledMeanwhile = this.probing.get(device.key);
    this.probing.delete(device.key);
    if (pulledMeanwhile) return;
    if (fs && !this.options.policy.usb.filesystems.includes(fs.type as never)) problem = `filesystem "${displayField(fs.type, 20)}" is not allowed by the policy`;
    const decision = decideDevice(this.options.policy.usb, { vendorId: device.vendorId, productId: device.productId, serial: device.serial, uuid: fs?.uuid ?? null });
    const record: DeviceRecord = { id, device, fs, decision, state: 'waiting', level: null, mode: null, mediaName: null, mountPoint: null, problem };
    this.devices.set(id, record);
    this.journal('usb.arrival', 'supervisor', record, { problem: problem ?? undefined, boundTo: decision.bound?.level, rule: decision.bound?.rule });
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
      throw new CloisonError('WRONG_STATE', `the device is ${record.state}${record.level ? ` to "${record.level}"` : ''}: eject it first`);
    }
    if (record.state === 'unusable') throw new CloisonError('WRONG_STATE', `the device cannot be used: ${record.problem}`);
    const refusal = refusalFor(record.decision, level, mode);
    if (refusal) {
      this.journal('usb.refused', 'user', record, { level, mode, reason: refusal });
      throw new CloisonError('POLICY_DENIED', refusal);
    }
    this.journal('usb.decision', 'user', record, { level, mode });
    await this.mount(record, level, mode);
    return viewOf(record);
  }

  dismiss(id: string): DeviceView {
    const record = this.record(id);
    if (record.state !== 'waiting') throw new CloisonError('WRONG_STATE', `the device is ${record.state}, not waiting for a decision`);
    this.journal('usb.decision', 'user', record, { outcome: 'left unassigned' });
    this.setState(record, 'detached');
    return viewOf(record);
  }

  async eject(id: string): Promise<DeviceView> {
    const record = this.record(id);
    if (record.state !== 'attached' || !record.mountPoint || !record.mode) throw new CloisonError('WRONG_STATE', `the device is ${record.state}, not attached`);
    this.setState(record, 'ejecting');
    try {
      await this.options.mounts.eject(record.mountPoint, record.device.devnode, record.mode);
    } catch (err) {
      record.problem = `still in use in the cage (a program has a file or folder open on it): close it, then eject again — ${(err as Error).message}`;
      this.journal('usb.eject-failed', 'user', record, { level: record.level ?? undefined, reason: (err as Error).message });
      this.setState(record, 'attached');
      throw new CloisonError('WRONG_STATE', record.problem);
    }
    this.journal('usb.eject', 'user', record, { level: record.level ?? undefined });
    record.mountPoint = null;
    record.problem = null;
    this.setState(record, 'detached');
    return viewOf(record);
  }

  /** Pulled out: whatever its state, detach at once and forget it. */
  async removed(device: BlockDevice): Promise<void> {
    if (this.probing.has(device.key)) this.probing.set(device.key, true);
    const record = [...this.devices.values()].find((r) => r.device.key === device.key);
    if (!record) return;
    // Unmount first, then forget: once the device leaves the list, its mount is gone too.
    const wasMounted = record.mountPoint;
    record.mountPoint = null;
    if (wasMounted) await this.options.mounts.detachGone(wasMounted);
    this.devices.delete(record.id);
    this.journal('usb.removal', 'supervisor', record, { whileAttached: Boolean(wasMounted), level: wasMounted ? (record.level ?? undefined) : undefined });
    this.emit('change', this.list());
  }

  /** Supervisor stopping: unmount everything (the devices stay plugged). */
  async close(): Promise<void> {
    for (const record of this.devices.values()) {
      if (record.mountPoint) await this.options.mounts.detachGone(record.mountPoint);
    }
    this.devices.clear();
  }

  private async mount(record: DeviceRecord, level: string, mode: DeviceMode): Promise<void> {
    const uid = this.options.cageUidOf(level);
    if (uid === null) {
      record.problem = `level "${level}" has no bwrap cage to receive devices`;
      this.setState(record, 'detached');
      throw new CloisonError('POLICY_DENIED', record.problem);
    }
    const fs = record.fs!;
    const taken = new Set([...this.devices.values()].filter((r) => r.level === level && r.mountPoint).map((r) => r.mediaName!));
    const name = mediaDirName(fs.label, `usb-${(fs.uuid ?? record.device.name).slice(0, 8)}`, taken);
    Object.assign(record, { level, mode, mediaName: name, problem: null });
    this.setState(record, 'attaching');
    try {
      record.mountPoint = await this.options.mounts.mount({ devnode: record.device.devnode, fsType: fs.type, mode, level, name, uid });
    } catch (err) {
      record.problem = `could not mount the filesystem (${displayField(fs.type, 20)}): ${(err as Error).message}`;
        this.journal('usb.attach-failed', 'supervisor', record, { level, mode, reason: (err as Error).message });
      this.setState(record, 'detached');
      throw new CloisonError('WRONG_STATE', record.problem);
    }
    // Pulled out while we were mounting.
    if (!this.devices.has(record.id)) return void (await this.options.mounts.detachGone(record.mountPoint));
    this.journal('usb.attach', 'supervisor', record, { level, mode, folder: name });
    this.setState(record, 'attached');
  }

  private record(id: string): DeviceRecord {
    const record = this.devices.get(id);
    if (!record) throw new CloisonError('WRONG_STATE', 'no such device (it was pulled out)');
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
    boundTo: r.decision.bound, choices: r.decision.choices, problem: r.problem,
    // Nothing mounted and no mount under way: pulling it out loses nothing.
    safeToRemove: r.mountPoint === null && r.state !== 'attaching',
  };
}
