/**
 * apps-memory's reading: every process of an `npm start` session summed by side — trusted (npm
 * start, the Node parts, card proxies, the shell's Chromium), helpers (the root part's other host
 * processes serving the cages) and cages (every process in a cage's pid namespace) — in PSS, RSS,
 * USS, private dirty and PSS without files. One function, so every reading of a run (the
 * autostarted applications, then the default applications open) measures the trusted side the
 * same way.
 */
import { readFileSync, readlinkSync } from 'node:fs';
import { processes } from './processCpu';

export type Side = 'trusted' | 'helpers' | 'cages';
type Procs = ReturnType<typeof processes>;

export interface Memory {
  pss: number;
  rss: number;
  uss: number;
  dirty: number;
  own: number;
}

export interface SidesReading {
  /** MiB by side, proportional (the goal's measure). */
  pssMiB: Record<Side, number>;
  /** MiB by side, resident (shared pages counted in each process). */
  rssMiB: Record<Side, number>;
  /** MiB by side, private to each process (USS). */
  ussMiB: Record<Side, number>;
  /** MiB by side, written by each process alone (Private_Dirty: the same whatever else runs). */
  dirtyMiB: Record<Side, number>;
  /** MiB by side, PSS without files' pages (Pss_Anon + Pss_Shmem): heaps, and shared memory such as a canvas's frames between a renderer and the GPU process, split among their sharers; no program's code. */
  ownPssMiB: Record<Side, number>;
  /** PSS, RSS, USS, private dirty and own PSS MiB of each process, by side: "name (pid)". */
  processes: Record<Side, Record<string, Memory>>;
}

/** A process's proportional, resident, unique and private dirty sizes in MiB (0 when it is gone). */
export function memoryOf(pid: number): Memory {
  try {
    const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0);
    return { pss: kib('Pss') / 1024, rss: kib('Rss') / 1024, uss: (kib('Private_Clean') + kib('Private_Dirty')) / 1024, dirty: kib('Private_Dirty') / 1024, own: (kib('Pss_Anon') + kib('Pss_Shmem')) / 1024 };
  } catch {
    return { pss: 0, rss: 0, uss: 0, dirty: 0, own: 0 };
  }
}

/** A process's name in the listing: a Node process by its script (cageManager.js, cloisonPart.js…). */
export function processName(cmd: string): string {
  const argv = cmd.trim().split(' ');
  const program = argv[0]!.replace(/^.*\//, '');
  if (program !== 'node') return program;
  const script = argv.slice(1).find((a) => /\.(c|m)?js$/.test(a));
  return script ? `node ${script.replace(/^.*\//, '')}` : program;
}

/** A card proxy (Caml Crush's server or p11-kit's), on the trusted side though no Node. */
function isCardProxy(cmd: string): boolean {
  return /(^|\/)(pkcs11proxyd|p11-kit)$/.test(cmd.trim().split(' ')[0]!);
}

/** A Chromium renderer's client id, to tell the shell's page from the viewers' in the listing. */
function rendererId(cmd: string): string {
  const id = /--renderer-client-id=(\d+)/.exec(cmd)?.[1];
  return id ? ` #${id}` : '';
}

export function pidNamespace(pid: number | 'self'): string | null {
  try {
    return readlinkSync(`/proc/${pid}/ns/pid`);
  } catch {
    return null;
  }
}

export function descendants(root: number, all: Procs): Procs {
  const out: Procs = [];
  const stack = [root];
  while (stack.length) {
    const pid = stack.pop()!;
    const p = all.find((q) => q.pid === pid);
    if (p) out.push(p);
    for (const q of all) if (q.ppid === pid) stack.push(q.pid);
  }
  return out;
}

/** The processes of a session: npm start (start.mjs), its root part (cage manager or root supervisor) and the shell's Chromium. */
export interface SessionRoots {
  start: number;
  rootPart: number;
  shell: number;
}

/** Every process of the session read now and summed by side. */
export function readSides(roots: SessionRoots): SidesReading {
  const host = pidNamespace('self');
  const all = processes();
  const zero = () => ({ trusted: 0, helpers: 0, cages: 0 });
  const r: SidesReading = { pssMiB: zero(), rssMiB: zero(), ussMiB: zero(), dirtyMiB: zero(), ownPssMiB: zero(), processes: { trusted: {}, helpers: {}, cages: {} } };
  const add = (side: Side, p: { pid: number; cmd: string }) => {
    const m = memoryOf(p.pid);
    const type = /--type=(\S+)/.exec(p.cmd)?.[1];
    r.processes[side][`${processName(p.cmd)}${type ? ` ${type}` : ''}${type === 'renderer' ? rendererId(p.cmd) : ''} (${p.pid})`] = m;
    r.pssMiB[side] += m.pss;
    r.rssMiB[side] += m.rss;
    r.ussMiB[side] += m.uss;
    r.dirtyMiB[side] += m.dirty;
    r.ownPssMiB[side] += m.own;
  };
  add('trusted', all.find((p) => p.pid === roots.start)!); // npm start itself (start.mjs)
  for (const p of descendants(roots.shell, all)) add('trusted', p);
  // Under the root part: its Node processes (itself, the cloison part, the browser and sound
  // parts) and card proxies are trusted; other host processes helpers; a cage's, the cages'.
  for (const p of descendants(roots.rootPart, all)) {
    if (pidNamespace(p.pid) !== host) add('cages', p);
    else add(processName(p.cmd).startsWith('node') || isCardProxy(p.cmd) ? 'trusted' : 'helpers', p);
  }
  return r;
}

/** The trusted side's share (helpers counted with it: the stricter reading) of a measure. */
export function trustedShare(by: Record<Side, number>, withHelpers = true): number {
  return (by.trusted + (withHelpers ? by.helpers : 0)) / (by.trusted + by.helpers + by.cages);
}
