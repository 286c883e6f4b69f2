/**
 * Transfers through the file broker running as the `cloison` part (#29), with a real cage
 * manager's `files.helper` and two real bwrap cages: a PDF with scripts sent up under the policy's
 * `convert` lands in high's inbox as a PDF of its pixels only, after the question showed its pages;
 * two files sent down through the policy's scanner: the clean one lands, the marked one is refused
 * with what the scanner said. The converter and scanner sandboxes are built by the part's bwrap,
 * in a user namespace of the part's own (cloisonConvert.test.ts shows what they reach).
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileAuditJournal } from '../../audit/auditJournal';
import { CageManagerServer } from '../../cageManager/cageManagerServer';
import { cageStartExecutor } from '../../cageManager/cageStartExecutor';
import { cageStopExecutor } from '../../cageManager/cageStopExecutor';
import { cloisonPart, type CloisonPartMessage } from '../../cageManager/cloisonPart';
import { filesHelperExecutor } from '../../cageManager/filesHelperExecutor';
import { ManagedCages } from '../../cageManager/managedCages';
import { bwrapCagePaths } from '../../cages/bwrapDriver';
import { parsePolicy } from '../../policy/policyLoader';
import { createPamTestUser, type PamTestUser } from '../../testing/pamTestUser';
import { testRoot } from '../../testing/realCage';
import { bwrapCage, twoLevelPolicy } from '../../testing/testPolicy';
import { hostile } from './hostileDocuments';

const LOW_UID = 61794;
const HIGH_UID = 61795;
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

let root: string;
let cloison: PamTestUser;
let journal: FileAuditJournal;
let server: CageManagerServer;
let folders: { stateDir: string; runDir: string };
let helpers: ReturnType<typeof filesHelperExecutor>;
const cages = new ManagedCages();
let part: ReturnType<typeof cloisonPart> | null = null;
const home = (level: string) => bwrapCagePaths(folders.stateDir, folders.runDir, level).home;

beforeAll(async () => {
  root = testRoot('cloison-cvt-');
  chmodSync(root, 0o711);
  cloison = createPamTestUser();
  journal = new FileAuditJournal(join(root, 'manager-audit.jsonl'));
  folders = { stateDir: join(root, 'state'), runDir: join(root, 'run') };
  const policy = () => parsePolicy(POLICY, 'p.yaml');
  const start = cageStartExecutor({ policy, ...folders, cages });
  server = new CageManagerServer({
    socketPath: join(root, 'manager.sock'),
    peerUid: cloison.uid,
    peerGid: cloison.gid,
    journal,
    authorization: { policy, ...folders, trainingKeysDir: join(root, 'training'), workstationUser: null },
    executors: {
      'cage.start': start,
      'cage.stop': cageStopExecutor({ cages }),
      'files.helper': (helpers = filesHelperExecutor({ policy, ...folders, part: () => part })),
    },
  });
  await server.listen();
  await start({ op: 'cage.start', level: 'low', uid: LOW_UID });
  await start({ op: 'cage.start', level: 'high', uid: HIGH_UID });
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
  mkdirSync(join(root, 'part'), { mode: 0o700 });
  chownSync(join(root, 'part'), cloison.uid, cloison.gid);
}, 120_000);

afterAll(async () => {
  await part?.stop();
  for (const level of cages.levels()) await cages.cage(level)?.stop();
  await server?.close();
  helpers?.stop();
  journal?.close();
  cloison?.remove();
  rmSync(root, { recursive: true, force: true });
}, 60_000);

async function runPart(): Promise<Record<string, { result?: unknown; error?: string; questions?: unknown[] }>> {
  const reports: Record<string, { result?: unknown; error?: string; questions?: unknown[] }> = {};
  await new Promise<void>((resolve, reject) => {
    part = cloisonPart({
      command: { callerUrl: import.meta.url, source: '', bundle: '', script: join(__dirname, '../../testing/convertingBrokerPart.ts') },
      account: () => cloison,
      start: { filter: 'sandboxing', managerSocket: join(root, 'manager.sock'), policy: POLICY, workDir: join(root, 'part') },
      message: (m: CloisonPartMessage) => {
        if (m.type === 'done') resolve();
        else if (m.type === 'report') reports[m.step as string] = m as { result?: unknown };
      },
      restarting: (reason) => reject(new Error(`the part ended (${reason}) after ${JSON.stringify(reports)}`)),
    });
    part.start().catch(reject);
  });
  await part!.stop();
  part = null;
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
