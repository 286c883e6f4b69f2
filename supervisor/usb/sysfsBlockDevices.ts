/**
 * Storage devices a user may plug in, read from sysfs: USB disks and partitions (identity from
 * the USB device above them), and — only when the policy names a directory for them — loop
 * devices whose backing file lies there (training rooms, tests). Everything else (internal disks,
 * zram, device-mapper, non-storage USB) is not ours and is left alone. Never throws: an entry that
 * cannot be read is skipped, and a vanished one simply is no longer listed.
 */
import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export interface BlockDevice {
  /** Kernel name (sdb1, loop3). */
  name: string;
  devnode: string;
  bus: 'usb' | 'loop';
  vendorId: string;
  productId: string;
  vendor: string;
  product: string;
  serial: string;
  sizeBytes: number;
  /** Changes when another device takes the same kernel name. */
  key: string;
}

export interface ScanOptions {
  sysRoot?: string;
  devRoot?: string;
  /** Loop devices backed by files under this directory count as plugged keys. */
  loopBackingDir?: string;
}

const SECTOR = 512;
/** How the kernel shows a loop device whose backing file was unlinked: the key was "pulled". */
const DELETED_SUFFIX = ' (deleted)';

export function scanBlockDevices(options: ScanOptions = {}): BlockDevice[] {
  const sys = options.sysRoot ?? '/sys';
  const dev = options.devRoot ?? '/dev';
  const loopDir = options.loopBackingDir ? resolved(options.loopBackingDir) : null;
  let names: string[];
  try {
    names = readdirSync(join(sys, 'class', 'block'));
  } catch {
    return [];
  }
  const out: BlockDevice[] = [];
  for (const name of names) {
    try {
      const found = name.startsWith('loop') ? loopDevice(sys, dev, name, loopDir) : usbDevice(sys, dev, name);
      if (found) out.push(found);
    } catch {
      // Vanished between readdir and read, or an attribute we do not understand: not a candidate.
    }
  }
  return out;
}

function loopDevice(sys: string, dev: string, name: string, loopDir: string | null): BlockDevice | null {
  if (!loopDir) return null;
  const entry = join(sys, 'class', 'block', name);
  const backingFile = join(entry, 'loop', 'backing_file');
  if (!existsSync(backingFile)) return null;
  const backing = readFileSync(backingFile, 'utf8').replace(/\n$/, '');
  if (backing.endsWith(DELETED_SUFFIX) || !backing.startsWith(`${loopDir}/`)) return null;
  const sizeBytes = Number(readFileSync(join(entry, 'size'), 'utf8')) * SECTOR;
  if (!sizeBytes) return null;
  return { name, devnode: join(dev, name), bus: 'loop', vendorId: '', productId: '', vendor: 'Linux', product: 'loop device', serial: basename(backing), sizeBytes, key: `${name}:${backing}` };
}

function usbDevice(sys: string, dev: string, name: string): BlockDevice | null {
  const entry = join(sys, 'class', 'block', name);
  const real = realpathSync(entry);
  if (!real.includes('/usb')) return null;
  const isPartition = existsSync(join(entry, 'partition'));
  // A partitioned disk is offered through its partitions.
  if (!isPartition && readdirSync(real).some((child) => child.startsWith(name) && existsSync(join(real, child, 'partition')))) return null;
  const sizeBytes = Number(readFileSync(join(entry, 'size'), 'utf8')) * SECTOR;
  if (!sizeBytes) return null; // a card reader with no card
  const usb = usbAncestor(real);
  if (!usb) return null;
  const attr = (file: string) => {
    try {
      return readFileSync(join(usb, file), 'utf8').replace(/\n$/, '');
    } catch {
      return '';
    }
  };
  const serial = attr('serial');
  return {
    name, devnode: join(dev, name), bus: 'usb', sizeBytes,
    vendorId: attr('idVendor').toLowerCase(), productId: attr('idProduct').toLowerCase(),
    vendor: attr('manufacturer'), product: attr('product'), serial,
    key: `${name}:${usb}:${serial}`,
  };
}

/** The USB device (the directory with idVendor) a block device hangs under. */
function usbAncestor(path: string): string | null {
  for (let dir = path; dir !== '/' && dir !== '.'; dir = dirname(dir)) {
    if (existsSync(join(dir, 'idVendor'))) return dir;
  }
  return null;
}

function resolved(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}
