/**
 * Test helper: the converters' sandboxed processes as /proc shows them from the host — those running
 * as a converter uid, which of them this test's own process started (test files beside it convert
 * too), and which is the document renderer's sandbox rather than an OCR one.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { CONVERTER_UIDS, isInRange } from '../system/ownUids';

function statusField(pid: string, field: 'Uid' | 'PPid'): string | null {
  try {
    return new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? null;
  } catch {
    return null; // gone
  }
}

/** The process's real uid; -1 once it is gone. */
export function uidOf(pid: string): number {
  const uid = statusField(pid, 'Uid');
  return uid === null ? -1 : Number(uid);
}

/** Pids of processes running as a converter uid. */
export function convertersRunning(): string[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((pid) => {
      const uid = uidOf(pid);
      return isInRange(uid, CONVERTER_UIDS);
    });
}

/** Whether `pid` descends from this test's process (its sandboxes' processes do, seen from the host). */
export function startedByThisProcess(pid: string): boolean {
  for (let p: string | null = pid, hops = 0; p !== null && p !== '0' && p !== '1' && hops < 64; hops++) {
    if (p === String(process.pid)) return true;
    p = statusField(p, 'PPid');
  }
  return false;
}

/** The renderer's sandbox, not an OCR one, which runs in the same uid range. */
export function isDocumentSandbox(pid: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/mountinfo`, 'utf8').includes(' /opt/cloison-pixel-helper.mjs ');
  } catch {
    return false; // gone
  }
}
