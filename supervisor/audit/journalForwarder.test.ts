/**
 * Journal forwarding through util-linux's logger: every record reaches the system log as RFC 5424
 * structured data, in order, escaped, with metadata only (names, labels and chosen text as their
 * length and keyed fingerprint); a dead log socket loses nothing locally. The built
 * supervisor forwards its own records when told to.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { testRoot } from '../testing/realCage';
import { skipWithReason } from '../testing/skipWithReason';
import { twoLevelPolicy, vncCage } from '../testing/testPolicy';
import { FileAuditJournal } from './auditJournal';
import { JournalForwarder, SD_ID } from './journalForwarder';
import { supervisorReady } from '../testing/waitFor';

/** A syslog socket of our own: collects what logger sends, one message per line. */
function syslogReceiver(path: string): Promise<{ messages: string[]; server: Server }> {
  const messages: string[] = [];
  const server = createServer((c) => createInterface({ input: c }).on('line', (l) => messages.push(l)));
  return new Promise((resolve) => server.listen(path, () => resolve({ messages, server })));
}

async function until(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('journal forwarding to syslog', () => {
  const root = testRoot();
  it('sends every record, in order, with its fields as structured data, hostile values escaped', async () => {
    const socket = join(root, 'log.sock');
    const { messages, server } = await syslogReceiver(socket);
    const journal = new FileAuditJournal(join(root, 'audit.jsonl'));
    const forwarder = new JournalForwarder({ kind: 'syslog', socket });
    journal.onRecord((r) => forwarder.forward(r));
    const a = journal.append('usb.arrival', 'supervisor', { rule: 'KEY"]\nrm -rf', level: 'low' });
    const b = journal.append('usb.decision', 'user', { level: 'high', mode: 'read-only' });
    await forwarder.drain();
    await until(() => messages.length === 2);
    server.close();
    journal.close();
    expect(messages[0]).toMatch(/^<38>1 \S+ \S+ cloison /); // auth.info
    expect(messages[0]).toContain(`[${SD_ID} `);
    expect(messages[0]).toContain(`seq="1"`);
    expect(messages[0]).toContain(`hash="${a.hash}"`);
    expect(messages[0]).toContain('kind="usb.arrival"');
    expect(messages[0]).toContain('rule="KEY\\"\\] rm -rf"'); // quote and bracket escaped, newline gone
    expect(messages[1]).toContain(`hash="${b.hash}"`);
    expect(messages[1]).toContain('usb.decision by user: level=high mode=read-only');
  });

  it('file names, labels and text a cage, a device or a user chose leave only as their length and keyed fingerprint (issue #27)', async () => {
    const socket = join(root, 'meta.sock');
    const { messages, server } = await syslogReceiver(socket);
    const journal = new FileAuditJournal(join(root, 'audit-meta.jsonl'));
    const keyed = (text: string) => journal.fingerprint(createHash('sha256').update(text).digest('hex'));
    const forwarder = new JournalForwarder({ kind: 'syslog', socket }, { fingerprint: keyed });
    journal.onRecord((r) => forwarder.forward(r));
    const chosen = ['rachat-societe-X.odt', 'Incoming/low/rachat-societe-X.odt', 'le directeur l’a demandé', 'PROJET-NOIR', 'SN-PROJET-NOIR', 'rachat-societe-X.odt changed size while being copied', 'un texte signalé'];
    journal.append('file.transfer', 'user', { from: 'high', to: 'low', direction: 'down', name: chosen[0]!, landedAs: chosen[1]!, justification: chosen[2]!, size: 12, decision: 'refused', reason: chosen[5]! });
    journal.append('usb.arrival', 'supervisor', { device: 'usb-1', vendorId: '0781', label: chosen[3]!, serial: chosen[4]!, fsType: 'vfat', mark: 'none' });
    journal.append('user.report', 'user', { level: 'low', text: chosen[6]! });
    await forwarder.drain();
    await until(() => messages.length === 3);
    server.close();
    journal.close();
    const local = readFileSync(join(root, 'audit-meta.jsonl'), 'utf8');
    for (const text of chosen) {
      expect(messages.join('\n')).not.toContain(text.slice(0, 12));
      expect(local).toContain(JSON.stringify(text).slice(1, -1)); // the local journal keeps them
    }
    expect(messages[0]).toContain(`nameLength="${chosen[0]!.length}"`);
    expect(messages[0]).toContain(`nameFingerprint="${keyed(chosen[0]!)}"`);
    expect(messages[0]).toMatch(/direction="down".*decision="refused"/);
    expect(messages[1]).toContain(`labelFingerprint="${keyed(chosen[3]!)}"`);
    expect(messages[1]).toMatch(/vendorId="0781"/);
    expect(messages[2]).toContain(`textFingerprint="${keyed(chosen[6]!)}"`);
  });

  it('a dead log socket loses nothing locally and never throws into a decision', async () => {
    const journal = new FileAuditJournal(join(root, 'audit2.jsonl'));
    const forwarder = new JournalForwarder({ kind: 'syslog', socket: join(root, 'nobody-listens.sock') });
    journal.onRecord((r) => forwarder.forward(r));
    expect(() => journal.append('cage.running', 'supervisor', { level: 'low' })).not.toThrow();
    await forwarder.drain();
    journal.close();
    expect(forwarder.failed).toBe(1);
    expect(readFileSync(join(root, 'audit2.jsonl'), 'utf8')).toContain('"cage.running"');
  });

  // journald's own socket cannot be redirected: this runs where journald runs (not in containers).
  it('journald: each record becomes an entry with CLOISON_* fields', async (ctx) => {
    if (!existsSync('/run/systemd/journal/socket')) skipWithReason(ctx, 'journald is not running here (no /run/systemd/journal/socket); its socket cannot be redirected to a test one');
    const journal = new FileAuditJournal(join(root, 'audit3.jsonl'));
    const forwarder = new JournalForwarder({ kind: 'journald' });
    journal.onRecord((r) => forwarder.forward(r));
    const record = journal.append('usb.attach', 'supervisor', { level: 'low', mediaFolder: 'KEY' });
    await forwarder.drain();
    journal.close();
    const { execFileSync } = await import('node:child_process');
    const found = () => execFileSync('journalctl', ['-o', 'json', `CLOISON_HASH=${record.hash}`], { encoding: 'utf8' }).trim();
    await until(() => found().length > 0);
    expect(JSON.parse(found().split('\n')[0]!)).toMatchObject({ SYSLOG_IDENTIFIER: 'cloison', CLOISON_KIND: 'usb.attach', CLOISON_F_LEVEL: 'low', CLOISON_F_MEDIA_FOLDER_LENGTH: '3' });
  });

  it('the built supervisor forwards its own records with --forward-journal', async () => {
    const socket = join(root, 'sup-log.sock');
    const { messages, server } = await syslogReceiver(socket);
    const policy = join(root, 'policy.yaml');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(policy, twoLevelPolicy({ low: vncCage(join(root, 'none-low.sock')), high: vncCage(join(root, 'none-high.sock')) }));
    const sup = spawn(process.execPath, ['out/supervisor/main.js', '--policy', policy, '--state-dir', join(root, 's'), '--run-dir', join(root, 'r'), '--forward-journal', `syslog:${socket}`], { stdio: ['ignore', 'pipe', 'ignore'] });
    await supervisorReady(sup.stdout!);
    await until(() => messages.some((m) => m.includes('kind="policy.load"')) && messages.some((m) => m.includes('kind="cage.crashed"')));
    sup.kill('SIGTERM');
    await new Promise((r) => sup.once('exit', r));
    server.close();
    const local = readFileSync(join(root, 's', 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { hash: string });
    // Every record forwarded was written locally first, with the same hash.
    for (const m of messages) expect(local.map((r) => r.hash)).toContain(/hash="([0-9a-f]+)"/.exec(m)?.[1]);
    expect(existsSync(join(root, 's', 'audit.jsonl.head'))).toBe(true);
    rmSync(root, { recursive: true, force: true });
  }, 30_000);
});
