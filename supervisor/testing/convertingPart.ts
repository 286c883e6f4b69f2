/**
 * Test tool, run as the `cloison` part is (the manager's child, the `cloison` account): the file
 * broker's converter and scanner sandboxes built from there. `filter` picks the part's syscall
 * filter (cloisonPartSandboxing.ts): 'service', the part's before, or 'sandboxing',
 * cloisonPartSeccompProgram (what bwrap needs for a sandbox with no root in it).
 * Converts a PDF with scripts, refuses a page too large, scans a clean and a marked file, then runs
 * a probe in the converter's sandbox in place of the pixel helper (the code a malicious document
 * would run): it tries the part's state folder, the manager's socket, the network. The part tries
 * the same from outside the sandbox, and reads the probe's /proc from there. Reports each step.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { managerChannel } from '../cageManager/socketHandOver';
import { convertDocument } from '../files/convert/documentConverter';
import { hostile } from '../files/convert/hostileDocuments';
import { converterUid, pixelSandboxArgs } from '../files/convert/pixelSandbox';
import { tasksOfUid } from '../files/sandboxUser';
import { scanStaged } from '../files/scannerSandbox';
import { spawnBwrap } from '../sandbox/bwrapSpawn';
import { privilegeStatus } from '../system/selfRestriction';
import { restrictCloisonPartForSandboxes } from './cloisonPartSandboxing';

interface Start {
  filter: 'service' | 'sandboxing';
  workDir: string;
  stateDir: string;
  managerSocket: string;
  port: number;
  scanner: string[];
  scannerBinds: string[];
}

const start = restrictCloisonPartForSandboxes<Start>();
const channel = managerChannel();
channel.send({ type: 'ready' });
const report = (step: string, fields: Record<string, unknown>) => channel.send({ type: 'report', step, ...fields });
const status = privilegeStatus();
report('restricted', { uid: status.uid, capEff: status.capEff, noNewPrivs: status.noNewPrivs, seccomp: status.seccomp });

const limits = { dpi: 150, maxPages: 20, maxPageSide: 10_000, memoryBytes: 2 * 1024 ** 3, tasks: 64, secondsPerPage: 60, secondsToOpen: 60, thumbnails: 1 };
const staged = (name: string, bytes: Buffer | string) => {
  const path = join(start.workDir, name);
  writeFileSync(path, bytes, { mode: 0o600 });
  return path;
};
const converted = await convertDocument(staged('scripted.pdf', hostile.javascript()), 'pdf', join(start.workDir, 'scripted.out.pdf'), limits);
report('convert', { result: converted.ok ? { ok: true, pages: converted.pages, file: converted.file } : converted });
// The same with text recognition: tesseract in a sandbox of its own per page.
const recognised = await convertDocument(staged('ocr.pdf', hostile.pages(1)), 'pdf', join(start.workDir, 'ocr.out.pdf'), { ...limits, ocr: { languages: ['eng'] } });
report('convert with ocr', { result: recognised.ok ? { ok: true, pages: recognised.pages } : recognised });
report('page too large', { result: await convertDocument(staged('huge.pdf', hostile.hugePage()), 'pdf', join(start.workDir, 'huge.out.pdf'), limits) });
report('scan clean', { result: await scanStaged(staged('clean.txt', 'du texte ordinaire'), start.scanner, start.scannerBinds) });
report('scan marked', { result: await scanStaged(staged('marked.txt', 'du texte MARQUEUR-DE-TEST caché'), start.scanner, start.scannerBinds) });

/** What the part itself reaches: the same attempts, outside any sandbox. */
function tryConnect(target: { path: string } | { port: number; host: string }): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(target as never);
    socket.on('connect', () => (socket.destroy(), resolve('connected')));
    socket.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}
const tryRead = (dir: string) => {
  try {
    return readdirSync(dir).join(',');
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? 'error';
  }
};
report('the part reaches', { stateDir: tryRead(start.stateDir), managerSocket: await tryConnect({ path: start.managerSocket }), network: await tryConnect({ host: '127.0.0.1', port: start.port }) });

// The probe: node's code in the pixel helper's place, the way a document's exploit would run.
const MARKER = 'cloison-hostile-probe';
const probe = `
const fs = require('node:fs'), net = require('node:net');
const tryConnect = (t) => new Promise((r) => { const s = net.connect(t); s.on('connect', () => (s.destroy(), r('connected'))); s.on('error', (e) => r(e.code)); });
const tryRead = (d) => { try { return fs.readdirSync(d).join(','); } catch (e) { return e.code; } };
(async () => {
  const status = fs.readFileSync('/proc/self/status', 'utf8');
  const field = (f) => new RegExp('^' + f + ':\\\\s+(\\\\S+)', 'm').exec(status)[1];
  const facts = { uid: Number(field('Uid')), capEff: field('CapEff'), capBnd: field('CapBnd'), seccomp: Number(field('Seccomp')), noNewPrivs: Number(field('NoNewPrivs')),
    stateDir: tryRead(${JSON.stringify(start.stateDir)}), managerSocket: await tryConnect({ path: ${JSON.stringify(start.managerSocket)} }), network: await tryConnect({ host: '127.0.0.1', port: ${start.port} }),
    procPids: fs.readdirSync('/proc').filter((p) => /^\\\\d+$/.test(p)).length };
  process.stdout.write(JSON.stringify(facts) + '\\n');
  process.stdin.resume(); process.stdin.on('end', () => process.exit(0));
})();
`;
const document = staged('probe.pdf', hostile.plain());
const child = spawnBwrap(pixelSandboxArgs(document, converterUid(), 64, (node) => [node, '-e', probe, MARKER]), { stdio: ['pipe', 'pipe', 'pipe'] });
let stderr = '';
child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
const firstLine = await new Promise<string | null>((resolve) => {
  createInterface({ input: child.stdout! }).once('line', resolve);
  child.on('close', () => resolve(null));
});
// From outside, while it waits: its process as the host sees it.
const outside = readdirSync('/proc')
  // The probe and the sandbox's init, not the bwrap this part started (whose argv holds the marker too).
  .filter((pid) => /^\d+$/.test(pid) && Number(pid) !== child.pid)
  .filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(MARKER);
    } catch {
      return false;
    }
  })
  .map((pid) => {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    return { uid: Number(/^Uid:\s+(\d+)/m.exec(s)![1]), capEff: /^CapEff:\s+(\S+)/m.exec(s)![1], userNamespace: readlinkSync(`/proc/${pid}/ns/user`), netNamespace: readlinkSync(`/proc/${pid}/ns/net`) };
  });
child.stdin!.end();
await new Promise((resolve) => (child.exitCode !== null ? resolve(null) : child.on('close', resolve)));
report('probe', { inside: firstLine ? JSON.parse(firstLine) : null, stderr: stderr.slice(0, 2000), outside, part: { userNamespace: readlinkSync('/proc/self/ns/user'), netNamespace: readlinkSync('/proc/self/ns/net') } });
// The probe's own attempt to make a namespace: refused by the cages' filter inside the sandbox.
const nested = spawnBwrap(pixelSandboxArgs(document, converterUid(), 64, () => ['unshare', '--user', '--map-root-user', 'id']), { stdio: ['ignore', 'pipe', 'pipe'] });
const out: string[] = [];
nested.stdout!.on('data', (d: Buffer) => out.push(d.toString()));
nested.stderr!.on('data', (d: Buffer) => out.push(d.toString()));
const code = await new Promise((resolve) => nested.on('close', resolve));
report('namespace inside', { code, said: out.join('').trim() });
// A fork bomb in the converter's sandbox: held to its tasks (64) above what the uid runs already.
const bomb = "const { spawn } = require('node:child_process'); const kids = []; for (let i = 0; i < 300; i++) kids.push(spawn('sleep', ['600'])); const alive = kids.filter((k) => k.pid !== undefined); process.stdout.write(String(alive.length)); for (const k of alive) k.kill('SIGKILL'); process.exit(0);";
const before = tasksOfUid(process.getuid!());
const bombing = spawnBwrap(pixelSandboxArgs(document, converterUid(), 64, (node) => [node, '-e', bomb]), { stdio: ['ignore', 'pipe', 'pipe'] });
let started = '';
bombing.stdout!.on('data', (d: Buffer) => (started += d.toString()));
await new Promise((resolve) => bombing.on('close', resolve));
report('fork bomb', { started: Number(started), before });
// What the sandboxing filter costs: the part itself may now make a user namespace (as any account
// may on this kernel); joining another process's namespaces stays refused.
const own = spawnSync('unshare', ['--user', '--map-root-user', '--net', 'true'], { encoding: 'utf8' });
const join_ = spawnSync('nsenter', ['--target', '1', '--net', 'true'], { encoding: 'utf8' });
report('the part\'s own namespaces', { unshare: own.status, unshareSaid: own.stderr.trim(), nsenter: join_.status, nsenterSaid: join_.stderr.trim() });
channel.send({ type: 'done' });
