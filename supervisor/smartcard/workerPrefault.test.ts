/**
 * The workers' page-table fill preloaded into a level's card proxy (workerPrefault.ts): the library
 * the build makes is mapped in pkcs11proxyd, the worker waiting for the next connection already
 * has the card module's whole code in its page tables (without the library it has little of it: a
 * fork copies no page-table entry of a file mapping, the worker would fault each page in while an
 * application waits), its malloc heap already its own (without it, the heap's pages are the
 * controller's, shared, each first write a copy while an application waits), and the card signs
 * through it. Refusing a library someone else could have
 * written is the same check as the OpenSSL pre-initialisation's (opensslPreinit.test.ts).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { skipWhenMissing } from '../testing/skipWithReason';
import { cardTestRoot, missingForCardTest } from '../testing/cardFixture';
import { withHighCardProxy } from '../testing/highCardProxy';
import { type SoftToken } from '../testing/softToken';
import { waitFor } from '../testing/waitFor';

const missing = missingForCardTest('workers\' page-table fill tests', { cages: false, programs: ['gcc'] });
const PROXY_UID = 51_800 + (process.pid % 100);

/** The module's code mapping in a process: its size and how much of it the process's page tables map (kB). */
function moduleCode(pid: string): { size: number; rss: number } {
  const smaps = readFileSync(`/proc/${pid}/smaps`, 'utf8');
  const module = readFileSync(`/proc/${pid}/maps`, 'utf8').split('\n').find((line) => line.includes(' r-xp ') && line.endsWith('libsofthsm2.so'));
  if (!module) throw new Error(`no code mapping of the module in ${pid}`);
  const block = smaps.slice(smaps.indexOf(module.split(' ')[0]!));
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(block)![1]);
  return { size: field('Size'), rss: field('Rss') };
}

/** The malloc heap's mapping in a process: its size and how much of it is the process's own, written (kB). */
function mallocHeap(pid: string): { size: number; privateDirty: number } {
  const smaps = readFileSync(`/proc/${pid}/smaps`, 'utf8');
  const at = smaps.search(/^[0-9a-f]+-[0-9a-f]+ rw-p .*\[heap\]$/m);
  if (at < 0) throw new Error(`no malloc heap in ${pid}`);
  const block = smaps.slice(at);
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(block)![1]);
  return { size: field('Size'), privateDirty: field('Private_Dirty') };
}

describe('the card proxy workers\' page-table fill', skipWhenMissing(missing), () => {
  let root: string;
  let token: SoftToken;
  let doc: string;

  /**
   * A proxy for high preloading `library` (null: none): what its controller maps, its waiting
   * worker's module code, a signature. Without the waiting worker's module initialisation, which
   * writes its heap too (workerModuleInit.test.ts): the fill's own effect.
   */
  const serve = (name: string, library: string | null) =>
    withHighCardProxy(join(root, `card-${name}`), token, PROXY_UID, { workerPrefault: library, workerModuleInit: null, connectAhead: false }, async (proxy) => {
      // A connection served (its worker ended), so the worker read below is one forked since, waiting for the next.
      const signed = await proxy.sign(doc, join(root, `sig-${name}`));
      // Its page tables read once its start is over: it is the controller's only child then (the
      // worker that served may still be ending, the next one starting, past 1 s on a loaded machine).
      const children = () => spawnSync('pgrep', ['-P', proxy.controller], { encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean);
      await new Promise((r) => setTimeout(r, 1000));
      await waitFor(() => children().length === 1, "the controller's one waiting worker", 15_000).catch(() => undefined);
      const waiting = children();
      expect(waiting).toHaveLength(1);
      return { mapped: proxy.mapped, waiting: moduleCode(waiting[0]!), heap: mallocHeap(waiting[0]!), signed };
    });

  beforeAll(() => {
    ({ root, token } = cardTestRoot('cloison-wpf-', PROXY_UID));
    doc = join(root, 'doc');
    writeFileSync(doc, 'document\n');
  }, 60_000);

  it('with the library the build makes, the waiting worker has the module\'s whole code mapped and its heap its own, and the card signs', async () => {
    const libs = join(root, 'built');
    mkdirSync(libs, { mode: 0o755 });
    const library = join(libs, 'workerPrefault.so');
    execFileSync(process.execPath, ['scripts/buildOpensslPreinit.mjs', 'supervisor/smartcard/native/workerPrefault.c', library], { stdio: 'pipe' });
    const served = await serve('built', library);
    expect(served.mapped).toContain(library);
    expect(served.waiting.size).toBeGreaterThan(0);
    expect(served.waiting.rss).toBe(served.waiting.size);
    expect(served.heap.size).toBeGreaterThan(0);
    expect(served.heap.privateDirty).toBe(served.heap.size);
    expect(served.signed).toBe(256);
  }, 60_000);

  it('without it, the waiting worker has little of the module\'s code mapped and still shares part of its heap with the controller (each such page a copy when it first writes it, while it serves), and the card signs', async () => {
    const served = await serve('without', null);
    expect(served.mapped).not.toContain('workerPrefault');
    expect(served.waiting.rss).toBeLessThan(served.waiting.size / 4);
    expect(served.heap.privateDirty).toBeLessThan(served.heap.size);
    expect(served.signed).toBe(256);
  }, 60_000);
});
