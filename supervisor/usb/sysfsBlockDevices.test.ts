/**
 * The sysfs scan on a tree laid out as the kernel does for a USB stick (whole disk, partitions),
 * an internal disk, a card reader with no card, a loop device and a non-storage USB device.
 */
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { testRoot } from '../testing/testRoots';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { scanBlockDevices } from './sysfsBlockDevices';

function fakeSys(): string {
  const sys = testRoot('cloison-sysfs-');
  const file = (path: string, text: string) => {
    mkdirSync(join(sys, path, '..'), { recursive: true });
    writeFileSync(join(sys, path), `${text}\n`);
  };
  const block = (name: string, devicePath: string) => {
    mkdirSync(join(sys, 'class', 'block'), { recursive: true });
    symlinkSync(join(sys, devicePath), join(sys, 'class', 'block', name));
  };
  // A USB stick with one partition, behind hub port 1-2.
  const usb = 'devices/pci0000:00/0000:00:14.0/usb1/1-2';
  file(`${usb}/idVendor`, '0781');
  file(`${usb}/idProduct`, '5581');
  file(`${usb}/manufacturer`, 'SanDisk\u001b[2J');
  file(`${usb}/product`, 'Ultra');
  file(`${usb}/serial`, '4C530001');
  const disk = `${usb}/1-2:1.0/host6/target6:0:0/6:0:0:0/block/sdb`;
  file(`${disk}/size`, '60088320');
  file(`${disk}/sdb1/size`, '60086272');
  file(`${disk}/sdb1/partition`, '1');
  block('sdb', disk);
  block('sdb1', `${disk}/sdb1`);
  // A card reader with no card in it.
  const reader = 'devices/pci0000:00/0000:00:14.0/usb1/1-3';
  file(`${reader}/idVendor`, '0bda');
  file(`${reader}/idProduct`, '0129');
  file(`${reader}/1-3:1.0/host7/target7:0:0/7:0:0:0/block/sdc/size`, '0');
  block('sdc', `${reader}/1-3:1.0/host7/target7:0:0/7:0:0:0/block/sdc`);
  // The internal disk, not USB.
  file('devices/pci0000:00/0000:00:04.0/virtio1/block/vda/size', '41943040');
  block('vda', 'devices/pci0000:00/0000:00:04.0/virtio1/block/vda');
  // A loop device backed by a file in the training folder, one elsewhere, one unbound.
  file('devices/virtual/block/loop0/size', '16384');
  file('devices/virtual/block/loop0/loop/backing_file', '/srv/keys/k1.img');
  block('loop0', 'devices/virtual/block/loop0');
  file('devices/virtual/block/loop1/size', '16384');
  file('devices/virtual/block/loop1/loop/backing_file', '/var/lib/snapd/x.snap');
  block('loop1', 'devices/virtual/block/loop1');
  file('devices/virtual/block/loop2/size', '0');
  block('loop2', 'devices/virtual/block/loop2');
  // A pulled key: its backing file is gone.
  file('devices/virtual/block/loop3/size', '16384');
  file('devices/virtual/block/loop3/loop/backing_file', '/srv/keys/k2.img (deleted)');
  block('loop3', 'devices/virtual/block/loop3');
  return sys;
}

describe('sysfs scan', () => {
  const sys = fakeSys();

  it('offers a USB stick through its partition, with the USB device\'s identity, and nothing internal', () => {
    const found = scanBlockDevices({ sysRoot: sys, devRoot: '/dev' });
    expect(found).toEqual([
      expect.objectContaining({ name: 'sdb1', devnode: '/dev/sdb1', bus: 'usb', vendorId: '0781', productId: '5581', vendor: 'SanDisk\u001b[2J', product: 'Ultra', serial: '4C530001', sizeBytes: 60086272 * 512 }),
    ]);
  });

  it('offers loop devices only under the policy\'s folder, and not once their file is gone', () => {
    const names = scanBlockDevices({ sysRoot: sys, loopBackingDir: '/srv/keys' }).map((d) => d.name);
    expect(names.sort()).toEqual(['loop0', 'sdb1']);
    expect(scanBlockDevices({ sysRoot: sys, loopBackingDir: '/srv/keys' }).find((d) => d.name === 'loop0')).toMatchObject({ bus: 'loop', serial: 'k1.img', sizeBytes: 16384 * 512 });
  });

  it('returns nothing (and does not throw) when sysfs is not there', () => {
    expect(scanBlockDevices({ sysRoot: join(sys, 'missing') })).toEqual([]);
  });
});
