/**
 * Transfers through the file broker running as the `cloison` part (#29), with a real cage
 * manager's `files.helper` and two real bwrap cages: a PDF with scripts sent up under the policy's
 * `convert` lands in high's inbox as a PDF of its pixels only, after the question showed its pages;
 * two files sent down through the policy's scanner: the clean one lands, the marked one is refused
 * with what the scanner said. The converter and scanner sandboxes are built by the part's bwrap,
 * in a user namespace of the part's own (cloisonConvert.test.ts shows what they reach).
 */
import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileBrokerManager, type FileBrokerManager } from '../../testing/fileBrokerManager';
import { bwrapCage, twoLevelPolicy } from '../../testing/testPolicy';
import { hostile } from './hostileDocuments';

const LOW_UID = 58794;
const HIGH_UID = 58795;
const SMALL = 'homeBytes: 64MiB, tmpfsBytes: 32MiB';
const POLICY = twoLevelPolicy(
  { low: bwrapCage({ uid: LOW_UID, limits: SMALL }), high: bwrapCage({ uid: HIGH_UID, limits: SMALL }) },
  `files:
  up: { decision: convert }
  down:
    decision: allow
    scanner: [sh, -c, 'if grep -q MARQUEUR-DE-TEST "$0"; then echo "infected: MARQUEUR-DE-TEST"; exit 1; fi']
`,
);

let manager: FileBrokerManager;
const home = (level: string) => manager.home(level);

beforeAll(async () => {
  manager = await fileBrokerManager({ prefix: 'cloison-cvt-', policy: POLICY, uids: { low: LOW_UID, high: HIGH_UID } });
  const put = (level: string, uid: number, name: string, bytes: Buffer | string) => {
    const outbox = join(home(level), 'Outbox');
    mkdirSync(outbox, { recursive: true });
    chownSync(outbox, uid, uid);
    writeFileSync(join(outbox, name), bytes);
    chownSync(join(outbox, name), uid, uid);
  };
  put('low', LOW_UID, 'invoice.pdf', hostile.javascript());
  put('high', HIGH_UID, 'clean.txt', 'du texte ordinaire\n');
  put('high', HIGH_UID, 'marked.txt', 'du texte MARQUEUR-DE-TEST caché\n');
}, 120_000);

afterAll(async () => {
  await manager?.close();
}, 60_000);

async function runPart(): Promise<Record<string, { result?: unknown; error?: string; questions?: unknown[] }>> {
  const reports: Record<string, { result?: unknown; error?: string; questions?: unknown[] }> = {};
  await manager.runPart(
    join(__dirname, '../../testing/convertingBrokerPart.ts'),
    { filter: 'sandboxing', managerSocket: manager.socketPath, policy: POLICY, workDir: manager.partFolder },
    { message: (m) => void (m.type === 'report' && (reports[m.step as string] = m as { result?: unknown })) },
  );
  await manager.stopPart();
  return reports;
}

describe('converted and scanned transfers through the file broker in the cloison part', () => {
  it('a scripted PDF lands up as pixels after its pages were shown; down, the clean file lands and the marked one is refused', async () => {
    const r = await runPart();
    expect(r['convert up']?.result, JSON.stringify(r)).toEqual([expect.objectContaining({ path: 'Outbox/invoice.pdf', outcome: 'copied', landedAs: 'invoice.pdf', converted: { pages: 1 }, type: 'pdf' })]);
    expect(r.question?.questions).toEqual([expect.objectContaining({ files: [expect.objectContaining({ name: 'invoice.pdf', converted: expect.objectContaining({ landAs: 'invoice.pdf', pages: 1 }) })] })]);
    const landed = join(home('high'), 'Incoming', 'low', 'invoice.pdf');
    expect(execFileSync('qpdf', ['--check', landed], { encoding: 'utf8' })).toContain('No syntax or stream encoding errors');
    const bytes = readFileSync(landed);
    expect(bytes.equals(hostile.javascript())).toBe(false);
    expect(bytes.toString('latin1').replace(/stream\n[\s\S]*?\nendstream/g, '')).not.toMatch(/JavaScript|OpenAction|\/Font/);

    expect(r['scan down']?.result, JSON.stringify(r['scan down'])).toEqual([
      expect.objectContaining({ path: 'Outbox/clean.txt', outcome: 'copied', landedAs: 'clean.txt' }),
      expect.objectContaining({ path: 'Outbox/marked.txt', outcome: 'refused', reason: expect.stringContaining('infected: MARQUEUR-DE-TEST') }),
    ]);
    expect(readFileSync(join(home('low'), 'Incoming', 'high', 'clean.txt'), 'utf8')).toBe('du texte ordinaire\n');
    expect(existsSync(join(home('low'), 'Incoming', 'high', 'marked.txt'))).toBe(false);
  }, 300_000);
});
