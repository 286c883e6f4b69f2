/**
 * The tests' uids (testUids.ts): no two test files may claim the same uid, and none may claim one
 * systemd hands out at run time. Reads the files' text, as a reviewer would: five-digit literals in
 * FIXED_TEST_UIDS, per-process blocks `BASE + (process.pid % N) * STRIDE`, and `NAME + k` of a
 * constant holding either.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SYSTEMD_ALLOCATED_UIDS } from '../../shared/smartcardPolicy';
import { FIXED_TEST_UIDS } from './testUids';

const ROOT = join(__dirname, '../..');
const FOLDERS = ['supervisor', 'e2e', 'bench', 'scripts', 'deploy', 'electron', 'renderer', 'shared'];
/** Tests whose point is a uid systemd hands out: the policy must refuse it. */
const SYSTEMD_UIDS_ON_PURPOSE = ['supervisor/policy/cageDynamicUids.attack.test.ts', 'supervisor/policy/cardProxyDynamicUids.attack.test.ts'];

type Claim = { file: string; lo: number; hi: number; what: string };
/** The uids lo..hi, taken `stride` at a time (one process's share of a per-process block). */
type Range = { lo: number; hi: number; stride: number };

function testFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' || e.name === 'out' ? [] : testFiles(path);
    const rel = relative(ROOT, path);
    const testish = /\.(test|spec)\.tsx?$/.test(e.name) || /^(bench|e2e)\//.test(rel) || rel.startsWith('supervisor/testing/');
    return testish && /\.tsx?$/.test(e.name) ? [path] : [];
  });
}

const number = (text: string) => Number(text.replace(/_/g, ''));
const BLOCK = /(\d[\d_]{3,6}) \+ \(process\.pid % (\d+)\)(?: \* (\d+))?/;
const LITERAL = /(?<![\w.])\d{5}(?![\w.])/g;

/** `range` + k: within a process's share (k < stride) the block's own uids, past it the block moved. */
function shifted(ranges: Range[] | undefined, k: number): Range[] {
  return (ranges ?? []).map(({ lo, hi, stride }) => ({ lo: lo + k, hi: hi + Math.max(0, k - (stride - 1)), stride }));
}

/** Every uid range a file's text claims. */
export function claimsOf(file: string, text: string): Claim[] {
  const named = new Map<string, Range[]>();
  const claims: Claim[] = [];
  const claim = (lo: number, hi: number, what: string) => claims.push({ file, lo, hi, what });
  const valueOf = (expr: string): Range[] => {
    const block = BLOCK.exec(expr);
    if (block) {
      const [, base, count, stride] = block;
      const step = Number(stride ?? 1);
      return [{ lo: number(base!), hi: number(base!) + (Number(count) - 1) * step + step - 1, stride: step }];
    }
    const literal = /^\s*(\d[\d_]{4,6})\s*$/.exec(expr);
    if (literal) return [{ lo: number(literal[1]!), hi: number(literal[1]!), stride: 1 }];
    const sum = /^\s*([A-Za-z_]\w*)(?:\.(\w+))?(?:\s*\+\s*(\d+))?\s*$/.exec(expr);
    return sum ? shifted(named.get(sum[2] ? `${sum[1]}.${sum[2]}` : sum[1]!), Number(sum[3] ?? 0)) : [];
  };
  for (const line of text.split('\n')) {
    if (/^\s*(\*|\/\/|\/\*)/.test(line)) continue;
    const block = BLOCK.exec(line);
    if (block) for (const r of valueOf(line)) claim(r.lo, r.hi, line.trim());
    const constant = /(?:const|let) ([A-Za-z_]\w*) = ([^;{]+);/.exec(line);
    if (constant) named.set(constant[1]!, valueOf(constant[2]!));
    const object = /(?:const|let) ([A-Za-z_]\w*) = \{([^}]*)\}/.exec(line);
    if (object) for (const [, key, expr] of object[2]!.matchAll(/(\w+): ([^,]+)/g)) named.set(`${object[1]}.${key}`, valueOf(expr!));
    for (const m of line.matchAll(LITERAL)) {
      const n = Number(m[0]);
      if (n >= FIXED_TEST_UIDS.min && n <= FIXED_TEST_UIDS.max) claim(n, n, line.trim());
    }
    for (const m of line.matchAll(/\b([A-Za-z_]\w*)(?:\.(\w+))? \+ (\d{1,3})\b/g)) {
      for (const r of shifted(named.get(m[2] ? `${m[1]}.${m[2]}` : m[1]!), Number(m[3]))) claim(r.lo, r.hi, line.trim());
    }
  }
  return claims;
}

/** Five-digit numbers on code lines (not comments) in systemd's run-time ranges. */
function systemdUids(file: string, text: string): string[] {
  return text.split('\n').flatMap((line, i) => {
    if (/^\s*(\*|\/\/|\/\*)/.test(line)) return [];
    return [...line.matchAll(/(?<![\w.])\d{2}_?\d{3}(?![\w.])/g)].map((m) => number(m[0])).filter((n) => SYSTEMD_ALLOCATED_UIDS.some(({ min, max }) => n >= min && n <= max)).map((n) => `${file}:${i + 1}: ${n}`);
  });
}

describe("the tests' uids", () => {
  const files = FOLDERS.flatMap((f) => testFiles(join(ROOT, f))).filter((path) => path !== __filename).map((path) => ({ file: relative(ROOT, path), text: readFileSync(path, 'utf8') }));
  const claims = files.flatMap(({ file, text }) => claimsOf(file, text));

  it('finds the uids it checks (literals, per-process blocks, sums)', () => {
    expect(claims.filter((c) => c.lo === c.hi).length).toBeGreaterThan(150);
    expect(claims.filter((c) => c.lo < c.hi).length).toBeGreaterThan(30);
    expect(claimsOf('x.ts', 'const BASE = 50_000 + (process.pid % 50) * 4;\nconst UIDS = { low: BASE + 2, high: BASE + 3 };\nf(UIDS.low + 200);')).toMatchObject([
      { lo: 50_000, hi: 50_199 },
      { lo: 50_002, hi: 50_199 },
      { lo: 50_003, hi: 50_199 },
      { lo: 50_202, hi: 50_396 },
    ]);
  });

  it('no two files claim the same uid', () => {
    const sorted = [...claims].sort((a, b) => a.lo - b.lo);
    const shared: string[] = [];
    sorted.forEach((a, i) => {
      for (const b of sorted.slice(i + 1)) {
        if (b.lo > a.hi) break;
        if (b.file !== a.file) shared.push(`${a.file} (${a.lo}–${a.hi}: ${a.what.slice(0, 80)}) and ${b.file} (${b.lo}–${b.hi}: ${b.what.slice(0, 80)})`);
      }
    });
    const taken = new Set(claims.filter((c) => c.lo === c.hi).map((c) => c.lo));
    const free = Array.from({ length: FIXED_TEST_UIDS.max - FIXED_TEST_UIDS.min + 1 }, (_, i) => FIXED_TEST_UIDS.min + i).filter((n) => !taken.has(n)).slice(0, 10);
    expect(shared, `free fixed uids: ${free.join(', ')}`).toEqual([]);
  });

  it("no test uid is one systemd hands out (DynamicUser=, systemd-homed)", () => {
    const found = files.filter(({ file }) => !SYSTEMD_UIDS_ON_PURPOSE.includes(file)).flatMap(({ file, text }) => systemdUids(file, text));
    const blocks = claims.filter((c) => SYSTEMD_ALLOCATED_UIDS.some(({ min, max }) => c.lo <= max && c.hi >= min)).map((c) => `${c.file}: ${c.lo}–${c.hi}`);
    expect([...found, ...blocks]).toEqual([]);
  });
});
