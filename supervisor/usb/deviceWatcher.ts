/**
 * Notices storage devices arriving and leaving. sysfs cannot be watched with inotify, so the
 * watcher rescans it: on every udev block event when udev runs (`udevadm monitor`), and on a
 * short timer in any case (containers, initramfs-less kiosks, loop devices, missed events).
 * Scans never overlap; a device is reported once when it appears and once when it goes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import { findBinary } from '../system/binaries';
import { scanBlockDevices, type BlockDevice, type ScanOptions } from './sysfsBlockDevices';

export interface DeviceWatcherOptions extends ScanOptions {
  intervalMs?: number;
  /** Socket whose presence says udev runs. */
  udevControl?: string;
}

export interface DeviceWatcherEvents {
  arrived: [BlockDevice];
  removed: [BlockDevice];
}

export class DeviceWatcher extends EventEmitter<DeviceWatcherEvents> {
  private readonly present = new Map<string, BlockDevice>();
  private timer: NodeJS.Timeout | null = null;
  private monitor: ChildProcess | null = null;
  private scanning = false;
  private again = false;

  constructor(private readonly options: DeviceWatcherOptions = {}) {
    super();
  }

  start(): void {
    this.rescan();
    this.timer = setInterval(() => this.rescan(), this.options.intervalMs ?? 1000);
    const udevadm = findBinary('udevadm');
    if (udevadm && existsSync(this.options.udevControl ?? '/run/udev/control')) {
      this.monitor = spawn(udevadm, ['monitor', '--udev', '--subsystem-match=block'], { stdio: ['ignore', 'pipe', 'ignore'] });
      this.monitor.stdout?.on('data', () => this.rescan());
      this.monitor.on('error', () => (this.monitor = null));
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.monitor?.kill();
    this.monitor = null;
  }

  /** Scans now (coalescing with a scan already running). */
  rescan(): void {
    if (this.scanning) {
      this.again = true;
      return;
    }
    this.scanning = true;
    try {
      do {
        this.again = false;
        this.diff(scanBlockDevices(this.options));
      } while (this.again);
    } finally {
      this.scanning = false;
    }
  }

  private diff(now: BlockDevice[]): void {
    const seen = new Set(now.map((d) => d.key));
    for (const [key, device] of this.present) {
      if (!seen.has(key)) {
        this.present.delete(key);
        this.emit('removed', device);
      }
    }
    for (const device of now) {
      if (!this.present.has(device.key)) {
        this.present.set(device.key, device);
        this.emit('arrived', device);
      }
    }
  }
}
