/**
 * The converter and the scanner when the file broker is the `cloison` part (#29): a real process
 * of a `cloison`-like account, started as the manager starts the part (cloisonPart.ts), restricted
 * as the part restricts itself; its sandboxes built by bwrap in a user namespace of the account's
 * own, no root anywhere in the chain that parses the document.
 *
 * Under the part's filter as it was (SERVICE_DENIED), bwrap cannot make a single namespace: every
 * conversion and every scan is refused ("No permissions to create new namespace"); seen below.
 * Under cloisonPartSeccompProgram, a PDF with scripts comes out as pixels, a page too large is
 * refused, the scanner passes a clean file and refuses a marked one. A probe running in the
 * converter's sandbox in place of the pixel helper (what a document's exploit would run) reaches
 * neither the part's state folder, nor the manager's socket, nor the network — all three of which
 * the part itself reaches — and cannot make a namespace of its own.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPamTestUser, type PamTestUser } from '../../testing/pamTestUser';
import { partReports, type PartReports } from '../../testing/reportingPart';
import { testRoot } from '../../testing/testRoots';

let root: string;
let cloison: PamTestUser;
let socketServer: Server;
let tcpServer: Server;
let port = 0;

beforeAll(async () => {
  root = testRoot('cloison-cvp-');
  chmodSync(root, 0o711);
  cloison = createPamTestUser();
  // The part's own folders: its work (staging) and its state, which the sandbox must not reach.
  for (const dir of ['work', 'state']) {
    mkdirSync(join(root, dir), { mode: 0o700 });
    chownSync(join(root, dir), cloison.uid, cloison.gid);
  }
  writeFileSync(join(root, 'state', 'part-secret'), 'the part\'s state\n');
  chownSync(join(root, 'state', 'part-secret'), cloison.uid, cloison.gid);
  // A scanner as a site installs it (scannerSandbox.test.ts's), readable by every account.
  for (const dir of ['tool', 'db']) mkdirSync(join(root, dir), { mode: 0o755 });
  writeFileSync(join(root, 'tool', 'scan.sh'), '#!/bin/sh\nif grep -qF -f "$DB/signatures" "$1"; then echo "FOUND: $(grep -oF -f "$DB/signatures" "$1" | head -1)"; exit 1; fi\necho OK\n', { mode: 0o755 });
  writeFileSync(join(root, 'db', 'signatures'), 'MARQUEUR-DE-TEST\n', { mode: 0o644 });
  // Stand-ins the part can reach: the manager's socket (its peer may connect) and a service on the host's loopback.
  socketServer = createServer((s) => s.destroy());
  await new Promise<void>((resolve) => socketServer.listen(join(root, 'manager.sock'), resolve));
  chmodSync(join(root, 'manager.sock'), 0o666);
  tcpServer = createServer((s) => s.destroy());
  await new Promise<void>((resolve) => tcpServer.listen(0, '127.0.0.1', resolve));
  port = (tcpServer.address() as { port: number }).port;
}, 60_000);

afterAll(async () => {
  socketServer?.close();
  tcpServer?.close();
  cloison?.remove();
  rmSync(root, { recursive: true, force: true });
}, 60_000);

function runPart(filter: 'service' | 'sandboxing'): Promise<PartReports> {
  return partReports({
    script: join(__dirname, '../../testing/convertingPart.ts'),
    account: cloison,
    start: {
      filter,
      workDir: join(root, 'work'),
      stateDir: join(root, 'state'),
      managerSocket: join(root, 'manager.sock'),
      port,
      scanner: ['/usr/bin/env', `DB=${join(root, 'db')}`, '/bin/sh', join(root, 'tool', 'scan.sh')],
      scannerBinds: [join(root, 'tool'), join(root, 'db')],
    },
  });
}

describe('the converter and the scanner in the cloison part', () => {
  it('under the part\'s filter as it was, bwrap makes no sandbox: conversions and scans are refused', async () => {
    const r = await runPart('service');
    expect(r.restricted).toMatchObject({ uid: cloison.uid, capEff: '0000000000000000', noNewPrivs: 1, seccomp: 2 });
    expect(r.convert!.result).toMatchObject({ ok: false, refusal: 'crashed' });
    expect(r['scan clean']!.result).toMatchObject({ clean: false, said: expect.stringContaining('namespace') });
    // The part itself makes no namespace either.
    expect(r["the part's own namespaces"]).toMatchObject({ unshare: 1, unshareSaid: expect.stringMatching(/Operation not permitted/) });
  }, 180_000);

  it('under the sandboxing filter: a document converted, a hostile one refused, a scan each way; the sandbox reaches nothing of the part', async () => {
    const r = await runPart('sandboxing');
    expect(r.restricted).toMatchObject({ uid: cloison.uid, capEff: '0000000000000000', noNewPrivs: 1, seccomp: 2 });

    // The scripted PDF as pixels only: qpdf finds it sound, no script left.
    expect(r.convert!.result).toMatchObject({ ok: true, pages: 1 });
    const out = (r.convert!.result as { file: string }).file;
    expect(execFileSync('qpdf', ['--check', out], { encoding: 'utf8' })).toContain('No syntax or stream encoding errors');
    expect(execFileSync('qpdf', ['--qdf', '--object-streams=disable', out, '-'], { encoding: 'latin1', maxBuffer: 64 * 1024 * 1024 })).not.toMatch(/JavaScript|OpenAction/);
    expect(r['convert with ocr']!.result).toEqual({ ok: true, pages: 1 });
    expect(r['page too large']!.result).toMatchObject({ ok: false, refusal: 'page-too-large' });
    expect(r['scan clean']!.result).toEqual({ clean: true, said: 'OK' });
    expect(r['scan marked']!.result).toEqual({ clean: false, said: 'FOUND: MARQUEUR-DE-TEST' });

    // What the part reaches, the sandbox does not.
    expect(r['the part reaches']).toMatchObject({ stateDir: 'part-secret', managerSocket: 'connected', network: 'connected' });
    const probe = r.probe as { inside: Record<string, unknown> | null; stderr: string; outside: Array<{ uid: number; capEff: string; userNamespace: string; netNamespace: string }>; part: { userNamespace: string; netNamespace: string } };
    expect(probe.inside, probe.stderr).not.toBeNull();
    expect(probe.inside).toMatchObject({ capEff: '0000000000000000', capBnd: '0000000000000000', seccomp: 2, noNewPrivs: 1, stateDir: 'ENOENT', managerSocket: 'ENOENT', network: 'ECONNREFUSED' });
    expect(probe.inside!.uid).not.toBe(0);
    // From outside: not root, no capability, in a user and a network namespace of its own, below the part's.
    expect(probe.outside.length).toBeGreaterThan(0);
    for (const p of probe.outside) {
      expect(p.uid).toBe(cloison.uid);
      expect(p.capEff).toBe('0000000000000000');
      expect(p.userNamespace).not.toBe(probe.part.userNamespace);
      expect(p.userNamespace).not.toBe(readlinkSync('/proc/self/ns/user'));
      expect(p.netNamespace).not.toBe(probe.part.netNamespace);
    }
    // A namespace of its own from inside (a way to capabilities over new kernel objects): refused.
    expect((r['namespace inside'] as { code: number }).code).not.toBe(0);
    expect((r['namespace inside'] as { said: string }).said).toMatch(/Operation not permitted/);
    // A fork bomb inside is held: RLIMIT_NPROC counts every task of the uid, the part's too, so the
    // bound is 64 above what the uid ran as the sandbox started (node's own threads count in it).
    const bomb = r['fork bomb'] as { started: number; before: number };
    expect(bomb.started).toBeGreaterThan(0);
    expect(bomb.started).toBeLessThan(64 + bomb.before);
    // The cost, seen: the part itself may now make a user namespace of its own (as any account may
    // on this kernel); entering another process's namespaces (setns) stays refused.
    expect(r["the part's own namespaces"]).toMatchObject({ unshare: 0, nsenter: 1, nsenterSaid: expect.stringMatching(/Operation not permitted|Permission denied/) });
    // Nothing left running: every sandbox process ended with its bwrap.
    expect(readdirSync(join(root, 'work'))).toContain('scripted.out.pdf');
  }, 300_000);
});
