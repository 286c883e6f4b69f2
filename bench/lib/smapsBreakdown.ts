/**
 * A process's memory by mapping (/proc/PID/smaps), in the classes that say where the shell's
 * Chromium's memory goes: its program file (the `chromium` executable: code, read-only data, and
 * the relocated data the loader wrote), shared libraries, its data files (resources .pak,
 * icudtl.dat, the V8 snapshot), fonts, anonymous memory (PartitionAlloc, V8's heap, malloc, stacks)
 * and shared memory (memfd regions — a canvas's frames, the page's raster tiles, passed between a
 * renderer and the GPU process — and System V segments: the window's pixels shared with the X
 * server). The program file's pages are clean pages of a file the page cache holds anyway: PSS
 * counts them, divided among every process on the machine that maps them, private dirty does not
 * (bench/RESULTS.md, apps-memory, memory-9).
 */
import { readFileSync } from 'node:fs';

export type MappingClass = 'program' | 'libraries' | 'data files' | 'fonts' | 'other files' | 'anonymous' | 'shared memory';

export interface ClassMemory {
  /** MiB, proportional. */
  pss: number;
  /** MiB, written by this process alone. */
  dirty: number;
  /** MiB, resident in this process. */
  rss: number;
}

/** The class of one mapping, by its name in smaps; `program` is the path of the process's executable. */
export function mappingClass(name: string, program: string): MappingClass {
  const path = name.replace(/ \(deleted\)$/, '');
  if (path === '' || path.startsWith('[')) return 'anonymous'; // [heap], [stack], [anon:…], nameless
  if (path.startsWith('/memfd:') || path.startsWith('/dev/shm/') || path.startsWith('/SYSV')) return 'shared memory';
  if (path === program) return 'program';
  if (/\.so(\.[\d.]+)?$/.test(path) || path.endsWith('.node')) return 'libraries';
  if (/\.(pak|dat|bin)$/.test(path)) return 'data files';
  if (path.includes('/fonts/') || /\.(ttf|otf|ttc|pfb)$/i.test(path)) return 'fonts';
  return 'other files';
}

/** One smaps text summed by class (MiB). */
export function breakdown(smaps: string, program: string): Record<MappingClass, ClassMemory> {
  const out = {} as Record<MappingClass, ClassMemory>;
  let current: ClassMemory | null = null;
  for (const line of smaps.split('\n')) {
    const header = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \d+\s*(.*)$/.exec(line);
    if (header) {
      const cls = mappingClass(header[1]!.trim(), program);
      current = out[cls] ??= { pss: 0, dirty: 0, rss: 0 };
      continue;
    }
    const field = /^(Pss|Private_Dirty|Rss):\s+(\d+) kB/.exec(line);
    if (!field || !current) continue;
    const mib = Number(field[2]) / 1024;
    if (field[1] === 'Pss') current.pss += mib;
    else if (field[1] === 'Private_Dirty') current.dirty += mib;
    else current.rss += mib;
  }
  return out;
}

/** Several processes' smaps summed by class (MiB); a process gone meanwhile counts nothing. */
export function breakdownOf(pids: number[], program: string): Record<MappingClass, ClassMemory> {
  const sum = {} as Record<MappingClass, ClassMemory>;
  for (const pid of pids) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/smaps`, 'utf8');
    } catch {
      continue;
    }
    for (const [cls, m] of Object.entries(breakdown(text, program)) as Array<[MappingClass, ClassMemory]>) {
      const s = (sum[cls] ??= { pss: 0, dirty: 0, rss: 0 });
      s.pss += m.pss;
      s.dirty += m.dirty;
      s.rss += m.rss;
    }
  }
  return sum;
}
