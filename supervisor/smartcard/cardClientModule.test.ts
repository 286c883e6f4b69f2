/**
 * The cages' card client without Kerberos (cardClientModule.ts), made from this machine's Debian
 * files: what the loader resolves for it, that it is made once per set of sources and remade when
 * one changes, and Debian's client kept (with the reason) when ours cannot be made.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findBinary } from '../system/binaries';
import { testRoot } from '../testing/testRoots';
import { builtGssStub, CLIENT_NAME, DEBIAN_CARD_CLIENT, DEBIAN_TIRPC, GSS_STUB_NAME, makeCardClient, noexecMount, TIRPC_NAME, type CardClientSources } from './cardClientModule';
import { CAGE_CARD_CLIENT_DIR, CAGE_CARD_CLIENT_MODULE, prepareCageCard } from './cageCardEndpoint';

const missing = [...['patchelf', 'ldd'].filter((p) => !findBinary(p)), ...[DEBIAN_CARD_CLIENT, DEBIAN_TIRPC, builtGssStub()].filter((f) => !existsSync(f))];
if (missing.length) console.warn(`card client module tests skipped: ${missing.join(', ')} missing (scripts/setup.sh installs them; npm run build makes the stub)`);

const root = testRoot('cloison-cc-');
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** What ldd says each library the module needs resolves to. */
function resolved(module: string): Map<string, string> {
  const out = spawnSync('ldd', [module], { encoding: 'utf8' }).stdout;
  return new Map([...out.matchAll(/^\s*(\S+) => (\S+)/gm)].map((m) => [m[1]!, m[2]!]));
}

describe.skipIf(missing.length > 0)('the cages\' card client module', () => {
  it('loads no Kerberos library: its libtirpc is the renamed copy beside it, GSS-API our stub', () => {
    const debian = resolved(DEBIAN_CARD_CLIENT);
    // The attack's other half: Debian's client does load Kerberos (what this module is for).
    expect([...debian.keys()]).toEqual(expect.arrayContaining(['libgssapi_krb5.so.2', 'libkrb5.so.3']));
    const made = makeCardClient(join(root, 'a'));
    if (!made.ok) throw new Error(made.reason);
    const libs = resolved(made.module);
    expect([...libs.keys()].filter((n) => /krb5|gssapi|k5crypto|com_err|keyutils/.test(n))).toEqual([]);
    expect(libs.get(TIRPC_NAME)).toBe(join(made.dir, TIRPC_NAME));
    expect(libs.get(GSS_STUB_NAME)).toBe(join(made.dir, GSS_STUB_NAME));
    expect(libs.has('libtirpc.so.3')).toBe(false);
    // Root's, read-only to all: no cage uid may change what every cage loads.
    for (const name of ['', CLIENT_NAME, TIRPC_NAME, GSS_STUB_NAME]) {
      const st = statSync(join(made.dir, name));
      expect({ name, uid: st.uid, writable: (st.mode & 0o222) !== 0 && name !== '' }).toEqual({ name, uid: 0, writable: false });
      expect(st.mode & 0o022).toBe(0);
    }
    // The copy's own name, so a later load of libtirpc.so.3 in the same application gets Debian's.
    expect(spawnSync('patchelf', ['--print-soname', join(made.dir, TIRPC_NAME)], { encoding: 'utf8' }).stdout.trim()).toBe(TIRPC_NAME);
  });

  it('is made once for the same sources, and remade (the older copy gone) when one of them changes', () => {
    const parent = join(root, 'b');
    const src = join(root, 'src');
    mkdirSync(src, { recursive: true });
    const sources: CardClientSources = { client: join(src, 'client.so'), tirpc: join(src, 'libtirpc.so.3'), stub: join(src, 'stub.so') };
    copyFileSync(DEBIAN_CARD_CLIENT, sources.client);
    copyFileSync(DEBIAN_TIRPC, sources.tirpc);
    copyFileSync(builtGssStub(), sources.stub);
    const first = makeCardClient(parent, sources);
    if (!first.ok) throw new Error(first.reason);
    const ino = statSync(first.module).ino;
    const again = makeCardClient(parent, sources);
    expect(again.ok && again.dir).toBe(first.dir);
    expect(statSync(first.module).ino).toBe(ino);
    // An upgraded libtirpc (a new modification time): a new copy, the old one removed.
    utimesSync(sources.tirpc, new Date(), new Date(Date.now() + 5_000));
    const upgraded = makeCardClient(parent, sources);
    if (!upgraded.ok) throw new Error(upgraded.reason);
    expect(upgraded.dir).not.toBe(first.dir);
    expect(readdirSync(parent)).toEqual([upgraded.dir.split('/').pop()]);
  });

  it('a folder of that name not as made (a file removed) is set aside and made again', () => {
    const parent = join(root, 'c');
    const made = makeCardClient(parent);
    if (!made.ok) throw new Error(made.reason);
    rmSync(join(made.dir, GSS_STUB_NAME));
    const again = makeCardClient(parent);
    expect(again.ok && again.dir).toBe(made.dir);
    expect(existsSync(join(made.dir, GSS_STUB_NAME))).toBe(true);
    expect(readdirSync(parent)).toEqual([made.dir.split('/').pop()]);
  });

  it('cannot be made without the stub, or from a libtirpc that does not link Kerberos: Debian\'s client, with the reason', () => {
    const noStub = makeCardClient(join(root, 'd'), { client: DEBIAN_CARD_CLIENT, tirpc: DEBIAN_TIRPC, stub: join(root, 'absent.so') });
    expect(noStub).toMatchObject({ ok: false, reason: expect.stringMatching(/ENOENT/) });
    const other = makeCardClient(join(root, 'e'), { client: DEBIAN_CARD_CLIENT, tirpc: '/lib/x86_64-linux-gnu/libc.so.6', stub: builtGssStub() });
    expect(other).toMatchObject({ ok: false, reason: expect.stringMatching(/does not link libgssapi_krb5/) });
    expect(readdirSync(join(root, 'e'))).toEqual([]);
  });

  it('is not made on a noexec mount (Debian mounts /run so): the cages could not map it', () => {
    // A noexec tmpfs of this test's own (removed below; testRoot's removal unmounts it too).
    const mountPoint = join(root, 'g');
    mkdirSync(mountPoint);
    expect(spawnSync('mount', ['-t', 'tmpfs', '-o', 'noexec,mode=0755,size=4m', 'cloison-cc-test', mountPoint]).status).toBe(0);
    try {
      expect(noexecMount(join(mountPoint, 'client'))).toBe(true);
      expect(makeCardClient(join(mountPoint, 'client'))).toMatchObject({ ok: false, reason: expect.stringMatching(/noexec mount/) });
      expect(noexecMount(root)).toBe(false);
    } finally {
      spawnSync('umount', [mountPoint]);
    }
  });

  it('is what the cage\'s p11-kit module file names, bound read-only; Debian\'s when it cannot be made', () => {
    const dir = join(root, 'level');
    mkdirSync(join(dir, 'socket'), { recursive: true });
    const logged: string[] = [];
    const ours = prepareCageCard(dir, join(dir, 'socket'), join(root, 'f'), (msg) => logged.push(msg));
    expect(readFileSync(ours.moduleFile, 'utf8')).toContain(`module: ${CAGE_CARD_CLIENT_MODULE}\n`);
    expect(ours.bwrapArgs.join(' ')).toContain(`--ro-bind ${ours.clientDir} ${CAGE_CARD_CLIENT_DIR}`);
    expect(logged).toEqual([]);
    // A card folder parent that is a file: nothing can be made there.
    const blocked = prepareCageCard(dir, join(dir, 'socket'), ours.moduleFile, (msg) => logged.push(msg));
    expect(blocked.clientDir).toBeNull();
    expect(readFileSync(blocked.moduleFile, 'utf8')).toContain(`module: ${DEBIAN_CARD_CLIENT}\n`);
    expect(blocked.bwrapArgs.join(' ')).not.toContain(CAGE_CARD_CLIENT_DIR);
    expect(logged).toEqual([expect.stringMatching(/Debian's client/)]);
  });
});
