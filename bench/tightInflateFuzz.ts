/**
 * The long run of renderer/viewer/testing/tightFuzz.ts against Node's zlib (the renderer's tests
 * have pako's port only): streams made by Node's deflate (its zlib, not pako's port: other
 * matches, other blocks), inflated by Node's inflate as the reference.
 *
 *   nice node --import tsx bench/tightInflateFuzz.ts [SECONDS=60] [FIRST_SEED=1000000]
 *
 * Prints progress every 30 s, then the tally (refusals by message, those where zlib gave the
 * rectangle's size, findings with their seeds); exits 1 on a finding. A finding's seed replays
 * with the same Node (its zlib's deflate makes the streams).
 */
import { join } from 'node:path';
import { constants, createDeflate, inflateSync } from 'node:zlib';

const ROOT = join(import.meta.dirname, '..');
// The renderer's code, loaded as the inflate bench does: by its path (bench/ may not import it).
type Fuzz = typeof import('../renderer/viewer/testing/tightFuzz');
const { fuzz } = (await import(join(ROOT, 'renderer/viewer/testing/tightFuzz.ts'))) as Fuzz;

const node: Parameters<Fuzz['fuzz']>[0] = {
  name: 'node-zlib',
  deflater(level, strategy, windowBits, memLevel) {
    const d = createDeflate({ level, strategy, windowBits, memLevel });
    const out: Buffer[] = [];
    d.on('data', (c: Buffer) => out.push(c));
    return (bytes, full) =>
      new Promise((resolve, reject) => {
        d.once('error', reject);
        d.write(bytes);
        d.flush(full ? constants.Z_FULL_FLUSH : constants.Z_SYNC_FLUSH, () => {
          d.off('error', reject);
          resolve(new Uint8Array(Buffer.concat(out.splice(0))));
        });
      });
  },
  inflate(data, limit) {
    try {
      // A window of 32 KiB, as Tight's viewers open their streams (inflateInit: 15 bits) whatever the
      // header says; Node's default (0: the header's) would refuse distances beyond a smaller header
      // window only where its output is cut in chunks.
      return { out: new Uint8Array(inflateSync(data, { finishFlush: constants.Z_SYNC_FLUSH, maxOutputLength: limit, windowBits: 15 })) };
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code === 'ERR_BUFFER_TOO_LARGE') return { out: new Uint8Array(0), more: true };
      return { error: `${err.code ?? ''} ${err.message}` };
    }
  },
};

if (process.argv[2] === 'replay') {
  // bench/tightInflateFuzz.ts replay SEED…: those cases alone, with what each finding saw.
  (globalThis as { TIGHT_FUZZ_DEBUG?: boolean }).TIGHT_FUZZ_DEBUG = true;
  const { newTally, runCase } = (await import(join(ROOT, 'renderer/viewer/testing/tightFuzz.ts'))) as Fuzz;
  const tally = newTally();
  for (const s of process.argv.slice(3)) await runCase(Number(s), node, tally);
  console.log(JSON.stringify(tally, null, 1));
  process.exit(tally.findings.length ? 1 : 0);
}
const seconds = Number(process.argv[2] ?? 60);
const seed = Number(process.argv[3] ?? 1_000_000);
const started = Date.now();
const tally = await fuzz(node, seed, Infinity, seconds, undefined, (t, at) =>
  console.log(`${((Date.now() - started) / 1000).toFixed(0)} s, seed ${at}: ${t.cases} cases, ${t.rectangles} rectangles (${t.accepted} accepted), ${t.findings.length} findings`),
);
console.log(JSON.stringify({ seconds, firstSeed: seed, ...tally, findings: tally.findings.slice(0, 50), findingCount: tally.findings.length }, null, 1));
process.exitCode = tally.findings.length ? 1 : 0;
