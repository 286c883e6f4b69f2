/**
 * Attack: a cage against the card client every cage loads (cardClientModule.ts). The client and
 * its libraries are ours now, made by the manager, not Debian's files under /usr: a cage process
 * that could replace them would run its code in every application of that level that signs (and,
 * were the folder shared, of other levels). And LD_LIBRARY_PATH, which a cage's application may
 * set to load a library of its own under the client's libraries' names: its own process's
 * business (the cage's writable folders are noexec, so the loader cannot even map it), but it must
 * not reach the proxy's side.
 *
 * Real cages (bwrap, the cage's uid, the module file bound as in the product), a SoftHSM2 token
 * served by the level's filtering proxy. The writes are first run where they work (a copy in the
 * cage's own /tmp), then against the client's folder.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { smartcardPolicySchema } from '../../shared/smartcardPolicy';
import { cardTestRoot, missingForCardTest, startCardCages } from '../testing/cardFixture';
import type { RealCage } from '../testing/realCage';
import { skipWhenMissing } from '../testing/skipWithReason';
import { SOFTHSM_MODULE, TOKEN_PIN, type SoftToken } from '../testing/softToken';
import { waitFor } from '../testing/waitFor';
import { CAGE_CARD_CLIENT_DIR, CAGE_CARD_CLIENT_MODULE } from './cageCardEndpoint';
import { builtGssStub, CLIENT_NAME, GSS_STUB_NAME, TIRPC_NAME } from './cardClientModule';
import { SmartcardBroker } from './smartcardBroker';

const missing = missingForCardTest('card client module attack', { programs: ['patchelf', 'gcc'] });
const PROXY_UID = 56_400 + (process.pid % 100);
const PROBE = readFileSync(join(__dirname, '../testing/pkcs11Probe.py'), 'utf8');
const GSS_STUB_MAP = join(__dirname, 'native', 'gssStub.map');

/** The cage's library under our stub's name: the stub's functions, and a constructor that says who loaded it. */
const EVIL = `#include <stdio.h>
#include <unistd.h>
#include "${join(__dirname, 'native', 'gssStub.c')}"
__attribute__((constructor)) static void said(void) {
  FILE *f = fopen("/tmp/evil-loaded", "a");
  if (f) { fprintf(f, "uid %d\\n", (int)getuid()); fclose(f); }
}
`;

const digest = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

describe('a cage against its card client module', skipWhenMissing(missing), () => {
  let root: string;
  let token: SoftToken;
  let broker: SmartcardBroker;
  let cages = new Map<string, RealCage>();
  const cageUids = new Map<string, number>();
  let clientDir: string;

  /** This test's pkcs11proxyd processes (controller and workers). */
  const proxyProcesses = () => readdirSync('/proc').filter((pid) => /^\d+$/.test(pid)).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(join(root, 'card')) && readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'pkcs11proxyd';
    } catch {
      return false;
    }
  });

  beforeAll(async () => {
    ({ root, token } = cardTestRoot('cloison-cca-', PROXY_UID));
    const policy = smartcardPolicySchema.parse({ module: SOFTHSM_MODULE, levels: { high: { objects: ['high-sign'], uid: PROXY_UID } }, environment: { SOFTHSM2_CONF: token.conf } });
    broker = new SmartcardBroker({ policy: { current: () => ({ smartcard: policy }) }, dir: join(root, 'card'), clientParent: join(root, 'card-client'), cageGid: (level) => cageUids.get(level)!, record: () => {} });
    cages = await startCardCages(root, ['high'], broker, cageUids);
    clientDir = broker.endpoint('high')!.clientDir ?? '';
    // The cage's library, built here (the cage has no compiler of its own to trust), handed in below.
    const built = spawnSync('gcc', ['-shared', '-fPIC', '-O2', '-x', 'c', '-', `-Wl,--version-script=${GSS_STUB_MAP}`, `-Wl,-soname,${GSS_STUB_NAME}`, '-o', join(root, 'evil.so')], { input: EVIL, encoding: 'utf8' });
    if (built.status !== 0) throw new Error(built.stderr);
  }, 120_000);

  afterAll(async () => {
    await broker?.close();
    for (const cage of cages.values()) await cage.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  }, 60_000);

  it('the cage loads our client, its libraries from the bound folder, no Kerberos library', async () => {
    // Made (npm run build's stub, patchelf): else the cage would have Debian's client and this test nothing to attack.
    expect(clientDir, `the stub ${builtGssStub()} or patchelf missing`).toBeTruthy();
    const shell = cages.get('high')!;
    expect((await shell.sh('cat /etc/pkcs11/modules/cloison-card.module')).stdout).toContain(`module: ${CAGE_CARD_CLIENT_MODULE}`);
    const ldd = await shell.sh(`ldd ${CAGE_CARD_CLIENT_MODULE}`);
    expect(ldd.code, ldd.stderr).toBe(0);
    expect(ldd.stdout).toContain(`${TIRPC_NAME} => ${CAGE_CARD_CLIENT_DIR}/${TIRPC_NAME}`);
    expect(ldd.stdout).toContain(`${GSS_STUB_NAME} => ${CAGE_CARD_CLIENT_DIR}/${GSS_STUB_NAME}`);
    expect(ldd.stdout).not.toMatch(/krb5|gssapi|k5crypto/);
    const sign = await shell.sh(`echo doc > /tmp/doc; pkcs11-tool --module ${CAGE_CARD_CLIENT_MODULE} --login --pin ${TOKEN_PIN} --sign -m SHA256-RSA-PKCS --id 01 -i /tmp/doc -o /tmp/sig 2>&1 && wc -c < /tmp/sig`, 60_000);
    expect(sign.code, sign.stdout).toBe(0);
    expect(sign.stdout.trim().split('\n').pop()).toBe('256');
  }, 90_000);

  it('a cage process cannot replace, change, remove or add to the client\'s libraries', async () => {
    const shell = cages.get('high')!;
    const before = Object.fromEntries([CLIENT_NAME, TIRPC_NAME, GSS_STUB_NAME].map((n) => [n, digest(join(clientDir, n))]));
    const attacks = (dir: string) => [
      `cp /bin/true ${dir}/${TIRPC_NAME}`,
      `printf x >> ${dir}/${CLIENT_NAME}`,
      `rm -f ${dir}/${GSS_STUB_NAME}`,
      `mv ${dir}/${TIRPC_NAME} ${dir}/moved`,
      `ln -s /tmp/evil.so ${dir}/planted.so`,
      `chmod 666 ${dir}/${CLIENT_NAME}`,
      `mount -t tmpfs none ${dir}`,
    ];
    // Where the cage may write (its /tmp, a folder of its own with the same files), each works but the mount.
    const own = await shell.sh(`mkdir -p /tmp/own && cp ${CAGE_CARD_CLIENT_DIR}/* /tmp/own/ && chmod u+w /tmp/own/* && ${attacks('/tmp/own').slice(0, 6).join(' && ')} && echo all-done`);
    expect(own.stdout, own.stderr).toContain('all-done');
    for (const attack of attacks(CAGE_CARD_CLIENT_DIR)) {
      const r = await shell.sh(`${attack} 2>&1`);
      expect({ attack, code: r.code === 0 ? 0 : 'refused' }).toEqual({ attack, code: 'refused' });
    }
    // The folder itself: the cage's view, and the host's.
    expect((await shell.sh(`ls ${CAGE_CARD_CLIENT_DIR}`)).stdout.trim().split('\n').sort()).toEqual([CLIENT_NAME, TIRPC_NAME, GSS_STUB_NAME, 'made-from.json'].sort());
    expect(Object.fromEntries([CLIENT_NAME, TIRPC_NAME, GSS_STUB_NAME].map((n) => [n, digest(join(clientDir, n))]))).toEqual(before);
  }, 90_000);

  it('LD_LIBRARY_PATH in the cage reaches neither the client\'s folder nor the proxy', async () => {
    const shell = cages.get('high')!;
    const evil = readFileSync(join(root, 'evil.so')).toString('base64');
    // The cage's library under the stub's name, where the cage may write: the loader finds it
    // first (LD_LIBRARY_PATH before the client's RUNPATH) and cannot map it (the cage's writable
    // folders are noexec), so the cage's own application fails to load the card, its own doing.
    const handed = await shell.sh(`mkdir -p /tmp/evil && base64 -d > /tmp/evil/${GSS_STUB_NAME} <<'B64'\n${evil}\nB64\nrm -f /tmp/evil-loaded /tmp/ready /tmp/go; LD_LIBRARY_PATH=/tmp/evil ldd ${CAGE_CARD_CLIENT_MODULE} 2>&1`);
    expect(handed.stdout).toMatch(new RegExp(`${GSS_STUB_NAME}: failed to map segment|${GSS_STUB_NAME} => /tmp/evil/`));
    // An application with the variable set holds its logged-in session open: its worker on the
    // proxy's side is alive to be read.
    const held = shell.sh(`cat > /tmp/probe.py <<'PY'\n${PROBE}PY\nLD_LIBRARY_PATH=/tmp/evil-none:/tmp python3 /tmp/probe.py ${CAGE_CARD_CLIENT_MODULE} hold ${TOKEN_PIN} /tmp/ready /tmp/go 2>&1`, 60_000);
    try {
      const ended = held.then((r) => `the application ended first: ${r.stdout} ${r.stderr}`);
      await Promise.race([waitFor(async () => (await shell.sh('test -e /tmp/ready && echo yes')).stdout.includes('yes'), 'the application logged in', 30_000), ended.then((why) => Promise.reject(new Error(why)))]);
      // The proxy's processes (its controller, the worker serving this application) have the
      // token's module mapped (what this reads is real), none of the client's libraries or the
      // cage's, and no loader path of the cage's: nothing of its environment crosses the socket.
      const ours = proxyProcesses();
      expect(ours.length).toBeGreaterThanOrEqual(2);
      for (const pid of ours) {
        const maps = readFileSync(`/proc/${pid}/maps`, 'utf8');
        expect(maps).toContain(realpathSync(SOFTHSM_MODULE));
        expect(maps).not.toMatch(/libcloison|evil/);
        // (Its LD_PRELOAD is the supervisor's own: levelCardProxy.ts's libraries and the module.)
        const env = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
        expect(env.filter((v) => v.startsWith('LD_LIBRARY_PATH=') || /evil/.test(v))).toEqual([]);
      }
    } finally {
      await shell.sh('touch /tmp/go');
    }
    const lines = (await held).stdout.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { [k: string]: number });
    expect(lines.at(-1)).toMatchObject({ login: 0, first: 0, after: 0 });
  }, 120_000);
});
