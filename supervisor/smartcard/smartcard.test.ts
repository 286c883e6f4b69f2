/**
 * Smart cards per level, end to end: a SoftHSM2 token of the test's own, a filtering proxy per
 * level (Caml Crush), and pkcs11-tool run in real cages as true cage processes. Each attack runs
 * first against the same token served unfiltered (p11-kit server, what a level given the card
 * directly would have), where it succeeds, then through the level's proxy, where it is refused
 * and journaled.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipWhenMissing } from '../testing/skipWithReason';
import { smartcardPolicySchema } from '../../shared/smartcardPolicy';
import { cardTestRoot, levelProxyUid, missingForCardTest, P11KIT_PROXY, startCardCages } from '../testing/cardFixture';
import type { RealCage } from '../testing/realCage';
import { SOFTHSM_MODULE, TOKEN_PIN, TOKEN_SO_PIN, type SoftToken } from '../testing/softToken';
import { waitFor } from '../testing/waitFor';
import { CAGE_CARD_DIR, CAGE_CARD_CLIENT_MODULE } from './cageCardEndpoint';
import { PROXY_ADDRESS_SPACE, PROXY_OCAML_GC, PROXY_OPEN_FILES } from './levelCardProxy';
import { MAX_RECORD_BYTES } from './recordGuard';
import { SmartcardBroker } from './smartcardBroker';

const missing = missingForCardTest('smartcard tests', { programs: ['p11-kit'] });

/** One uid for both levels' proxies: SoftHSM2 keeps its token in 0600 files (a real card through pcscd needs no such thing). */
const PROXY_UID = 53_000 + (process.pid % 500);
const P11KIT_CLIENT = '/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so';
const PROBE = readFileSync(join(__dirname, '../testing/pkcs11Probe.py'), 'utf8');
const CKR_FUNCTION_NOT_SUPPORTED = 0x54;

type Record = { kind: string; fields: { [k: string]: string | number | boolean } };

describe('smart card per level (real cages, SoftHSM2 token)', skipWhenMissing(missing), () => {
  let root: string;
  let token: SoftToken;
  let broker: SmartcardBroker;
  const records: Record[] = [];
  let cages = new Map<string, RealCage>();
  const cageUids = new Map<string, number>();
  let unfiltered: ChildProcess | null = null;

  const filtered = (level: string, args: string) => cages.get(level)!.sh(`pkcs11-tool --module ${CAGE_CARD_CLIENT_MODULE} ${args} 2>&1`, 30_000);
  /** The same command against the token served whole, as a level given the card directly would have it. */
  const direct = (level: string, args: string) => cages.get(level)!.sh(`P11_KIT_SERVER_ADDRESS=unix:path=${CAGE_CARD_DIR}/unfiltered.sock pkcs11-tool --module ${P11KIT_CLIENT} ${args} 2>&1`, 30_000);
  /** The attack tool (supervisor/testing/pkcs11Probe.py) run in the cage: its JSON answer. */
  const probe = async (level: string, module: string, args: string, env = '') => {
    const r = await cages.get(level)!.sh(`cat > /tmp/probe.py <<'PY'\n${PROBE}PY\n${env} python3 /tmp/probe.py ${module} ${args}`, 60_000);
    try {
      return JSON.parse(r.stdout.trim().split('\n').pop()!) as { [k: string]: number | number[] };
    } catch {
      throw new Error(`probe: ${r.stdout} ${r.stderr}`);
    }
  };
  /** This test's pkcs11proxyd processes (both levels', controllers and workers). */
  const proxyProcesses = () => readdirSync('/proc').filter((pid) => /^\d+$/.test(pid)).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(join(root, 'card')) && readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'pkcs11proxyd';
    } catch {
      return false;
    }
  });
  const refusals = (fn: string) => records.filter((r) => r.kind === 'smartcard.refused' && r.fields.function === fn);

  beforeAll(async () => {
    ({ root, token } = cardTestRoot('cloison-sc-', PROXY_UID));
    const policy = smartcardPolicySchema.parse({
      module: SOFTHSM_MODULE,
      levels: { high: { objects: ['high-sign', 'high-secret'], uid: PROXY_UID }, low: { objects: ['low-auth'], uid: levelProxyUid(PROXY_UID, 'low') } },
      environment: { SOFTHSM2_CONF: token.conf },
    });
    broker = new SmartcardBroker({ policy: { current: () => ({ smartcard: policy }) }, dir: join(root, 'card'), cageGid: (level) => cageUids.get(level)!, record: (kind, _actor, fields) => records.push({ kind, fields }) });
    cages = await startCardCages(root, ['high', 'low'], broker, cageUids);
    // The unfiltered server, in low's folder: what low would have if given the card as it is.
    const lowDir = broker.endpoint('low')!.socketDir;
    const sock = join(lowDir, 'unfiltered.sock');
    unfiltered = spawn('p11-kit', ['server', '-f', '--provider', SOFTHSM_MODULE, '-n', sock, 'pkcs11:token=card'], { env: { PATH: '/usr/bin:/bin', SOFTHSM2_CONF: token.conf }, stdio: 'ignore' });
    await waitFor(() => existsSync(sock), 'the unfiltered p11-kit server', 15_000);
    chmodSync(sock, 0o666); // p11-kit makes it 0711; the folder still keeps every other uid out
  }, 120_000);

  /** Processes a test started that may outlive it when it fails. */
  const cleanupPids: number[] = [];
  afterAll(async () => {
    for (const pid of cleanupPids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone, as it should be */
      }
    }
    unfiltered?.kill('SIGKILL');
    await broker?.close();
    for (const cage of cages.values()) await cage.stop();
    if (root) rmSync(root, { recursive: true, force: true });
  }, 60_000);

  it('each cage lists only its level\'s objects (unfiltered, low sees high\'s keys)', async () => {
    const seenUnfiltered = await direct('low', `--login --pin ${TOKEN_PIN} -O`);
    expect(seenUnfiltered.stdout).toContain('label:      high-sign');

    const high = await filtered('high', `--login --pin ${TOKEN_PIN} -O`);
    expect(high.code, high.stdout).toBe(0);
    expect(high.stdout).toContain('label:      high-sign');
    expect(high.stdout).toContain('label:      high-secret');
    expect(high.stdout).not.toContain('low-auth');
    const low = await filtered('low', `--login --pin ${TOKEN_PIN} -O`);
    expect(low.code, low.stdout).toBe(0);
    expect(low.stdout).toContain('label:      low-auth');
    expect(low.stdout).not.toContain('high-');
    expect(records.some((r) => r.kind === 'smartcard.login' && r.fields.level === 'low' && r.fields.ok === true)).toBe(true);
  }, 60_000);

  it('the cage\'s default PKCS#11 modules (p11-kit-proxy) include its card and nothing of the host\'s', async () => {
    const listed = await cages.get('high')!.sh(`pkcs11-tool --module ${P11KIT_PROXY} -L 2>&1`, 30_000);
    expect(listed.stdout).toContain('token label        : card');
    // Exactly one initialised token: the proxy's (the host's softhsm2.module finds no token in the cage).
    expect(listed.stdout.match(/token label {8}: card/g)?.length).toBe(1);
  }, 60_000);

  it('signs with high\'s key in high; low cannot (unfiltered, it could)', async () => {
    await cages.get('low')!.sh('echo document > /tmp/doc');
    await cages.get('high')!.sh('echo document > /tmp/doc');
    const stolen = await direct('low', `--login --pin ${TOKEN_PIN} --sign -m SHA256-RSA-PKCS --id 01 -i /tmp/doc -o /tmp/sig && wc -c < /tmp/sig`);
    expect(stolen.code, stolen.stdout).toBe(0);

    const high = await filtered('high', `--login --pin ${TOKEN_PIN} --sign -m SHA256-RSA-PKCS --id 01 -i /tmp/doc -o /tmp/sig && wc -c < /tmp/sig`);
    expect(high.code, high.stdout).toBe(0);
    expect(high.stdout.trim().split('\n').pop()).toBe('256');
    const low = await filtered('low', `--login --pin ${TOKEN_PIN} --sign -m SHA256-RSA-PKCS --id 01 -i /tmp/doc -o /tmp/sig2`);
    expect(low.code).not.toBe(0);
    expect(low.stdout).toMatch(/not found|No private key/i);
    const own = await filtered('low', `--login --pin ${TOKEN_PIN} --sign -m SHA256-RSA-PKCS --id 02 -i /tmp/doc -o /tmp/sig2`);
    expect(own.code, own.stdout).toBe(0);
  }, 90_000);

  it('a hidden object\'s handle is refused too (unfiltered, low signs with every key on the card)', async () => {
    const unfilteredEnv = `P11_KIT_SERVER_ADDRESS=unix:path=${CAGE_CARD_DIR}/unfiltered.sock`;
    const all = await probe('low', P11KIT_CLIENT, `handles ${TOKEN_PIN}`, unfilteredEnv);
    expect((all.signable as number[]).length).toBeGreaterThanOrEqual(2);
    const low = await probe('low', CAGE_CARD_CLIENT_MODULE, `handles ${TOKEN_PIN}`);
    expect(low.login).toBe(0);
    expect((low.signable as number[]).length).toBe(1);
    // Journaled with the handle low tried (the wire carries no label): one of high's, not low's own.
    const hidden = (all.signable as number[]).filter((h) => !(low.signable as number[]).includes(h));
    await waitFor(() => records.some((r) => r.kind === 'smartcard.refused' && r.fields.function === 'C_SignInit' && r.fields.reason === 'hidden-object' && hidden.includes(r.fields.handle as number) && r.fields.level === 'low'), 'the hidden-object refusal in the journal', 15_000);
  }, 120_000);

  it('malformed and oversize messages get an error or a closed socket; the proxy, the other level and the supervisor keep working', async () => {
    const raw = readFileSync(join(__dirname, '../testing/rawSocketProbe.py'), 'utf8');
    const lowProxy = broker.view().levels.find((l) => l.level === 'low')!;
    expect(lowProxy.serving).toBe(true);
    // Against Caml Crush alone (its own socket, as root from outside): it believes a record said to
    // be 2 GiB long and buffers it until its address space runs out (then holds the connection open,
    // or its worker ends: both seen) — far past the guard's bound either way.
    const inner = spawnSync('python3', [join(__dirname, '../testing/rawSocketProbe.py'), join(root, 'card/low/proxy/pkcs11.sock'), 'oversize'], { encoding: 'utf8', timeout: 60_000 });
    console.log(`Caml Crush alone, oversize: ${inner.stdout.trim()}`);
    expect((JSON.parse(inner.stdout.trim()) as { sent: number }).sent).toBeGreaterThan(8 * MAX_RECORD_BYTES);
    for (const attack of ['garbage', 'unknown-procedure', 'truncated', 'oversize']) {
      const r = await cages.get('low')!.sh(`cat > /tmp/raw.py <<'PY'\n${raw}PY\npython3 /tmp/raw.py ${CAGE_CARD_DIR}/pkcs11.sock ${attack}`, 60_000);
      const answer = JSON.parse(r.stdout.trim() || '{}') as { sent?: number; reply?: number; closed?: boolean; timeout?: boolean };
      console.log(`card proxy, ${attack}: ${r.stdout.trim()} ${r.stderr.trim()}`);
      expect(answer.timeout, `${attack}: the proxy answered nothing`).toBeUndefined();
      expect(answer.closed === true || (answer.reply ?? 0) > 0, attack).toBe(true);
      // Through the guard the oversize record ends at its mark: what got out of the cage is socket buffers.
      if (attack === 'oversize') expect(answer.sent).toBeLessThan(MAX_RECORD_BYTES);
    }
    // Everyone still works: the same level, the other level, the broker.
    const low = await filtered('low', `--login --pin ${TOKEN_PIN} --sign -m SHA256-RSA-PKCS --id 02 -i /tmp/doc -o /tmp/sig3`);
    expect(low.code, low.stdout).toBe(0);
    const high = await filtered('high', `--login --pin ${TOKEN_PIN} -O`);
    expect(high.stdout).toContain('high-sign');
    expect(broker.view().levels.every((l) => l.serving)).toBe(true);
    expect(records.some((r) => r.kind === 'smartcard.refused' && r.fields.level === 'low' && r.fields.function === 'oversize message')).toBe(true);
  }, 180_000);

  it('every proxy process runs with its address space and its descriptor table bounded, and OCaml\'s GC set for forked workers', () => {
    // The workers fork per connection: a fresh one closes each inherited descriptor slot up to the
    // limit (20 000 here cost 40 ms of CPU per connection); 256 bounds that and a worker's files.
    // A worker of an earlier test's connection may end while this reads it: one gone is skipped.
    const read = (path: string): string | null => {
      try {
        return readFileSync(path, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ESRCH' || (err as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw err;
      }
    };
    let checked = 0;
    for (const pid of proxyProcesses()) {
      const limits = read(`/proc/${pid}/limits`);
      const environ = read(`/proc/${pid}/environ`);
      if (limits === null || environ === null) continue;
      expect(limits).toMatch(new RegExp(`Max open files\\s+${PROXY_OPEN_FILES}\\s+${PROXY_OPEN_FILES}\\s`));
      expect(limits).toMatch(new RegExp(`Max address space\\s+${PROXY_ADDRESS_SPACE}\\s`));
      // A small minor heap: fewer inherited pages a worker writes, each a copy-on-write fault.
      expect(environ.split('\0')).toContain(`OCAMLRUNPARAM=${PROXY_OCAML_GC}`);
      checked++;
    }
    expect(checked).toBeGreaterThanOrEqual(4); // a controller and an idle worker per level
  });

  it('the module is mapped in each proxy before its workers fork, yet one application\'s login never reaches another\'s connection', async () => {
    // Preloaded (levelCardProxy.ts): every pkcs11proxyd of ours, the controller and its idle worker, has it.
    const ours = proxyProcesses();
    expect(ours.length).toBeGreaterThanOrEqual(4);
    for (const pid of ours) expect(readFileSync(`/proc/${pid}/maps`, 'utf8')).toContain(realpathSync(SOFTHSM_MODULE));
    // Each process serves one level: its configuration is that level's, and each level has its own.
    const levelOf = (pid: string) => ['high', 'low'].filter((level) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(join(root, 'card', level, 'config')));
    for (const pid of ours) expect(levelOf(pid)).toHaveLength(1);
    expect(new Set(ours.flatMap(levelOf))).toEqual(new Set(['high', 'low']));
    // A logged-in application holds its session open; a second one of the same cage, not logged
    // in, tries the same key. A worker serving both (or a login made before the fork) would let it.
    const shell = cages.get('high')!;
    const held = shell.sh(`rm -f /tmp/ready /tmp/go; cat > /tmp/probe.py <<'PY'\n${PROBE}PY\npython3 /tmp/probe.py ${CAGE_CARD_CLIENT_MODULE} hold ${TOKEN_PIN} /tmp/ready /tmp/go 2>&1`, 60_000);
    try {
      await waitFor(async () => (await shell.sh('test -e /tmp/ready && echo yes')).stdout.includes('yes'), 'the first application logged in', 30_000);
      const second = await probe('high', CAGE_CARD_CLIENT_MODULE, 'login -');
      expect(second.login).not.toBe(0x100); // CKR_USER_ALREADY_LOGGED_IN: the first one's login
      expect(second.signInit).not.toBe(0);
      expect(second.sign).not.toBe(0);
    } finally {
      await shell.sh('touch /tmp/go');
    }
    const first = (await held).stdout.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { [k: string]: number });
    expect(first.at(-1)).toMatchObject({ login: 0, first: 0, after: 0 });
  }, 120_000);

  it('changing or resetting the PIN, reformatting, reading a key out and wrapping it are refused and journaled', async () => {
    // Unfiltered, each works (the PIN "changed" to itself, so the token stays usable).
    expect((await direct('low', `--login --pin ${TOKEN_PIN} --change-pin --new-pin ${TOKEN_PIN}`)).code).toBe(0);
    expect((await direct('low', `--login --login-type so --so-pin ${TOKEN_SO_PIN} --init-pin --new-pin ${TOKEN_PIN}`)).code).toBe(0);
    const value = await direct('low', `--login --pin ${TOKEN_PIN} --read-object --type secrkey --label high-secret -o /tmp/value && wc -c < /tmp/value`);
    expect(value.stdout.trim().split('\n').pop()).toBe('32');
    const wrapped = await direct('low', `--login --pin ${TOKEN_PIN} --wrap -m RSA-PKCS --id 01 --application-id 03 -o /tmp/wrapped && wc -c < /tmp/wrapped`);
    expect(wrapped.stdout.trim().split('\n').pop()).toBe('256');

    for (const level of ['high', 'low']) {
      const setPin = await filtered(level, `--login --pin ${TOKEN_PIN} --change-pin --new-pin 999999`);
      expect(setPin.code).not.toBe(0);
      expect(setPin.stdout).toContain('C_SetPIN failed: rv = CKR_FUNCTION_NOT_SUPPORTED');
      // As the Security Officer (refused at C_Login: no SO login through the proxy), then straight.
      const soLogin = await filtered(level, `--login --login-type so --so-pin ${TOKEN_SO_PIN} --init-pin --new-pin 999999`);
      expect(soLogin.code).not.toBe(0);
      expect(soLogin.stdout).toMatch(/C_Login failed/);
      const initPin = await probe(level, CAGE_CARD_CLIENT_MODULE, `initpin ${TOKEN_PIN} 999999`);
      expect(initPin).toMatchObject({ login: 0, initpin: CKR_FUNCTION_NOT_SUPPORTED });
      const initToken = await filtered(level, `--init-token --so-pin ${TOKEN_SO_PIN} --label wiped`);
      expect(initToken.code).not.toBe(0);
    }
    const readOut = await filtered('high', `--login --pin ${TOKEN_PIN} --read-object --type secrkey --label high-secret -o /tmp/value`);
    expect(readOut.code).not.toBe(0);
    expect(await cages.get('high')!.sh('test -s /tmp/value && echo leaked || echo none')).toMatchObject({ stdout: 'none\n' });
    const wrap = await filtered('high', `--login --pin ${TOKEN_PIN} --wrap -m RSA-PKCS --id 01 --application-id 03 -o /tmp/wrapped`);
    expect(wrap.code).not.toBe(0);
    expect(wrap.stdout).toContain('CKR_FUNCTION_NOT_SUPPORTED');

    // The PIN is what it was: the refusals changed nothing on the card.
    expect((await filtered('high', `--login --pin ${TOKEN_PIN} -O`)).code).toBe(0);
    await waitFor(() => refusals('C_WrapKey').length > 0, 'the wrap refusal in the journal', 15_000);
    expect(refusals('C_SetPIN').map((r) => r.fields.level).sort()).toEqual(['high', 'low']);
    expect(refusals('C_InitToken').length).toBeGreaterThanOrEqual(2);
    expect(refusals('C_GetAttributeValue').some((r) => r.fields.level === 'high' && r.fields.reason === 'sensitive-value' && typeof r.fields.handle === 'number')).toBe(true);
    // Named as the token names the key (asked by the guard on the cage's session, never taken from the cage).
    await waitFor(() => refusals('C_GetAttributeValue').some((r) => r.fields.label === 'high-secret'), 'the read-out refusal named', 15_000);
    expect(refusals('C_GetAttributeValue').find((r) => r.fields.label === 'high-secret')!.fields).toMatchObject({ level: 'high', reason: 'sensitive-value', id: '03' });
    expect(refusals('C_WrapKey')[0]!.fields).toMatchObject({ label: 'high-secret', id: '03' });
    expect(refusals('C_InitPIN').map((r) => r.fields.level).sort()).toEqual(['high', 'low']);
    expect(refusals('C_WrapKey')[0]!.fields).toMatchObject({ level: 'high', reason: 'denied-function' });
    // Never a PIN in the journal.
    const journal = JSON.stringify(records);
    for (const secret of [TOKEN_PIN, TOKEN_SO_PIN, '999999']) expect(journal).not.toContain(secret);
  }, 180_000);

  it('after a refusal the guard named, the same session goes on in step: the next signature works', async () => {
    const before = refusals('C_GetAttributeValue').length;
    const r = await probe('high', CAGE_CARD_CLIENT_MODULE, `readsign ${TOKEN_PIN}`);
    expect(r).toMatchObject({ login: 0, value: 0x11, valueLength: 0, signInit: 0, sign: 0, signatureBytes: 256 });
    await waitFor(() => refusals('C_GetAttributeValue').length > before, 'the refusal journaled', 15_000);
    expect(refusals('C_GetAttributeValue').at(-1)!.fields).toMatchObject({ level: 'high', label: 'high-secret', id: '03', reason: 'sensitive-value' });
  }, 60_000);

  it('exclusive: the card goes to one level at a time, and taking it back ends the holder\'s sessions', async () => {
    // The shared broker steps aside; an exclusive one serves the same cages' folders.
    await broker.close();
    const policy = smartcardPolicySchema.parse({
      module: SOFTHSM_MODULE,
      exclusive: true,
      levels: { high: { objects: ['high-sign'], uid: PROXY_UID }, low: { objects: ['low-auth'], uid: levelProxyUid(PROXY_UID, 'low') } },
      environment: { SOFTHSM2_CONF: token.conf },
    });
    const exclusive = new SmartcardBroker({ policy: { current: () => ({ smartcard: policy }) }, dir: join(root, 'card'), cageGid: (level) => cageUids.get(level)!, record: (kind, actor, fields) => records.push({ kind, fields: { ...fields, actor } }) });
    try {
      await exclusive.start();
      expect(exclusive.view()).toMatchObject({ exclusive: true, holder: null });
      expect((await filtered('high', '-L')).stdout).not.toContain('token label        : card');

      await exclusive.give('high');
      expect(exclusive.view().holder).toBe('high');
      expect((await filtered('high', `--login --pin ${TOKEN_PIN} -O`)).stdout).toContain('high-sign');
      expect((await filtered('low', '-L')).stdout).not.toContain('token label        : card');

      // A worker compromised by the cage's bytes forks and leaves the process group (setsid): its
      // fork, emulated here, is a process of the proxy's uid in whatever control group the proxy is.
      const controller = proxyProcesses().find((pid) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('-conf'))!;
      const forked = spawn('setpriv', [`--reuid=${PROXY_UID}`, `--regid=${PROXY_UID}`, '--clear-groups', '--', 'sleep', '300'], { detached: true, stdio: 'ignore' }); // detached: a session of its own
      cleanupPids.push(forked.pid!);
      await waitFor(() => readFileSync(`/proc/${forked.pid}/comm`, 'utf8').trim() === 'sleep', 'the fork running');
      for (const line of readFileSync(`/proc/${controller}/cgroup`, 'utf8').trim().split('\n')) {
        const [, controllers, path] = line.split(':');
        const procs = join('/sys/fs/cgroup', controllers ? controllers.replace(/^name=/, '') : '', path!, 'cgroup.procs');
        try {
          writeFileSync(procs, String(forked.pid));
        } catch {
          /* a hierarchy this host does not mount */
        }
      }

      // A session held open in high (an application logged in), then the card taken back.
      const raw = readFileSync(join(__dirname, '../testing/rawSocketProbe.py'), 'utf8');
      const held = cages.get('high')!.sh(`rm -f /tmp/held; cat > /tmp/raw.py <<'PY'\n${raw}PY\npython3 /tmp/raw.py ${CAGE_CARD_DIR}/pkcs11.sock hold /tmp/held`, 30_000);
      await waitFor(async () => (await cages.get('high')!.sh('test -e /tmp/held && echo connected', 10_000)).stdout.includes('connected'), 'the held connection', 20_000);
      await exclusive.give('low');
      expect(JSON.parse((await held).stdout.trim())).toMatchObject({ closed: true });
      // Nothing of high's proxy lives on once the card is taken back, not even what left its process group.
      await waitFor(() => !existsSync(`/proc/${forked.pid}`) || readFileSync(`/proc/${forked.pid}/stat`, 'utf8').split(') ')[1]!.startsWith('Z'), 'the fork of a high worker gone with its proxy', 10_000);
      expect(exclusive.view().holder).toBe('low');
      expect((await filtered('low', `--login --pin ${TOKEN_PIN} -O`)).stdout).toContain('low-auth');
      expect((await filtered('high', '-L')).stdout).not.toContain('token label        : card');

      await exclusive.take();
      expect(exclusive.view().holder).toBeNull();
      const moves = records.filter((r) => r.kind === 'smartcard.assign').map((r) => `${r.fields.action}:${r.fields.level}`);
      expect(moves).toEqual(['give:high', 'take:high', 'give:low', 'take:low']);
    } finally {
      await exclusive.close();
    }
  }, 120_000);
});
