/**
 * Keys marked for a level by this workstation (CLIP OS 4, §1.6 of the reference): a signed header
 * in the first and the last 4 KiB of the device, the filesystem between them (from 1 MiB to 1 MiB
 * before the end). A key marked for high is the only kind high may write to; it can no longer be
 * attached to any other level. This kernel has no device-mapper, hence the signed-header form: the
 * mark is integrity, not confidentiality (a marked key reads anywhere).
 *
 * The header is fixed binary, read by the supervisor itself (no parser of the key's content:
 * fixed offsets, then an HMAC check):
 *
 *   0   16  magic "CLOISON-MARK-v1\n"
 *   16  16  station id (from this workstation's mark secret)
 *   32  32  level id, NUL-padded
 *   64  16  mark id (random)
 *   80   8  marked at (ms since 1970)
 *   88   8  device size in bytes when marked
 *   96  32  HMAC-SHA256 of bytes 0–95 under the level's key (the station secret, keyed per level)
 *
 * The secret (`usb-mark.key`, 32 bytes, 0600, in the state folder) never leaves the supervisor:
 * another workstation's mark does not verify here and its key counts as unmarked; a forged,
 * truncated or altered mark, or a device whose size changed, is refused with the reason.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, openSync, readFileSync, readSync, writeFileSync, writeSync } from 'node:fs';
import { LEVEL_ID } from '../../shared/policy';

export const MARK_BYTES = 4096;
/** Where the filesystem of a marked key starts; as much again is kept free at the end. */
export const DATA_OFFSET = 1024 * 1024;
/** Too small for a header at each end and a filesystem between them. */
export const MIN_MARKABLE_BYTES = 16 * 1024 * 1024;
const MAGIC = Buffer.from('CLOISON-MARK-v1\n');
const SIGNED_BYTES = 96;

export interface StationKeys {
  secret: Buffer;
  /** Public: tells this workstation's marks from others'. */
  stationId: Buffer;
}

export type MarkReading =
  | { status: 'none' }
  | { status: 'foreign' }
  | { status: 'invalid'; reason: string }
  | { status: 'valid'; level: string; markId: string; dataOffset: number; dataBytes: number };

export function loadOrCreateStationKeys(path: string): StationKeys {
  if (!existsSync(path)) writeFileSync(path, randomBytes(32), { mode: 0o600, flag: 'wx' });
  const secret = readFileSync(path);
  if (secret.length !== 32) throw new Error(`${path}: not a mark secret (32 bytes expected)`);
  return { secret, stationId: createHmac('sha256', secret).update('cloison usb station id').digest().subarray(0, 16) };
}

function levelKey(keys: StationKeys, level: string): Buffer {
  return createHmac('sha256', keys.secret).update(`cloison usb mark for level ${level}`).digest();
}

/** The region a marked key's filesystem occupies. */
export function dataRegion(deviceBytes: number): { offset: number; bytes: number } {
  return { offset: DATA_OFFSET, bytes: deviceBytes - 2 * DATA_OFFSET };
}

export function buildHeader(keys: StationKeys, level: string, deviceBytes: number, markId = randomBytes(16), at = Date.now()): Buffer {
  const header = Buffer.alloc(MARK_BYTES);
  MAGIC.copy(header, 0);
  keys.stationId.copy(header, 16);
  header.write(level, 32, 32, 'ascii');
  markId.copy(header, 64);
  header.writeBigUInt64BE(BigInt(at), 80);
  header.writeBigUInt64BE(BigInt(deviceBytes), 88);
  createHmac('sha256', levelKey(keys, level)).update(header.subarray(0, SIGNED_BYTES)).digest().copy(header, SIGNED_BYTES);
  return header;
}

/** Reads both copies of the mark and says what the device is: unmarked, another station's, refused, or marked here. */
export function readMark(devnode: string, deviceBytes: number, keys: StationKeys, levels: readonly string[]): MarkReading {
  if (deviceBytes < 2 * MARK_BYTES) return { status: 'none' };
  const fd = openSync(devnode, 'r');
  let head: Buffer;
  let tail: Buffer;
  try {
    head = readAt(fd, 0);
    tail = readAt(fd, deviceBytes - MARK_BYTES);
  } finally {
    closeSync(fd);
  }
  return judge(head, tail, deviceBytes, keys, levels);
}

export function judge(head: Buffer, tail: Buffer, deviceBytes: number, keys: StationKeys, levels: readonly string[]): MarkReading {
  const marked = (b: Buffer) => b.subarray(0, MAGIC.length).equals(MAGIC);
  if (!marked(head) && !marked(tail)) return { status: 'none' };
  if (!marked(head)) return { status: 'invalid', reason: 'damaged mark: the copy at the start of the device is missing' };
  if (!marked(tail)) return { status: 'invalid', reason: 'truncated or damaged mark: the copy at the end of the device is missing (the device is not the size it was marked at)' };
  if (!head.equals(tail)) return { status: 'invalid', reason: 'damaged or forged mark: its two copies differ' };
  if (!head.subarray(16, 32).equals(keys.stationId)) return { status: 'foreign' };
  const level = head.subarray(32, 64).toString('ascii').replace(/\0+$/, '');
  if (!LEVEL_ID.test(level)) return { status: 'invalid', reason: 'forged mark: no level in it' };
  const mac = createHmac('sha256', levelKey(keys, level)).update(head.subarray(0, SIGNED_BYTES)).digest();
  if (!timingSafeEqual(mac, head.subarray(SIGNED_BYTES, SIGNED_BYTES + 32))) return { status: 'invalid', reason: 'forged mark: its signature is not this workstation\'s' };
  if (Number(head.readBigUInt64BE(88)) !== deviceBytes) return { status: 'invalid', reason: 'truncated or resized device: it is not the size it was marked at' };
  if (!levels.includes(level)) return { status: 'invalid', reason: `marked for level "${level}", which this policy does not have` };
  const region = dataRegion(deviceBytes);
  return { status: 'valid', level, markId: head.subarray(64, 80).toString('hex'), dataOffset: region.offset, dataBytes: region.bytes };
}

/** Writes the mark at both ends (after erasing what was there), on disk before it returns. */
export function writeMark(devnode: string, deviceBytes: number, keys: StationKeys, level: string): { markId: string } {
  if (deviceBytes < MIN_MARKABLE_BYTES) throw new Error(`the device is too small to be marked (${deviceBytes} bytes; at least ${MIN_MARKABLE_BYTES})`);
  const header = buildHeader(keys, level, deviceBytes);
  const fd = openSync(devnode, 'r+');
  try {
    // The first and last MiB: the old filesystem's signatures and any earlier mark go.
    const zeros = Buffer.alloc(DATA_OFFSET);
    writeAt(fd, zeros, 0);
    writeAt(fd, zeros, deviceBytes - DATA_OFFSET);
    writeAt(fd, header, 0);
    writeAt(fd, header, deviceBytes - MARK_BYTES);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return { markId: header.subarray(64, 80).toString('hex') };
}

function readAt(fd: number, position: number): Buffer {
  const buf = Buffer.alloc(MARK_BYTES);
  let got = 0;
  while (got < MARK_BYTES) {
    const n = readSync(fd, buf, got, MARK_BYTES - got, position + got);
    if (n === 0) break;
    got += n;
  }
  return buf;
}

function writeAt(fd: number, data: Buffer, position: number): void {
  let put = 0;
  while (put < data.length) put += writeSync(fd, data, put, data.length - put, position + put);
}
