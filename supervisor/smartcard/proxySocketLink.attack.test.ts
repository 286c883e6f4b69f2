/**
 * Attack (attack-2): a card proxy's uid points root's connection anywhere. The proxy's own socket
 * (`proxy/pkcs11.sock`) is in a folder the proxy uid owns (0700), and root connects to it by path:
 * the root supervisor's guard for each cage connection (recordGuard.ts, its string target), the
 * cage manager for each `card.socket` it hands the part (cardProxyExecutor.ts, connectPaused). A
 * process of the proxy uid (a proxy worker a cage's bytes took over) replaces the socket with a
 * link to any socket on the host; root's connect() follows it with root's rights, so the
 * connection reaches sockets only root may open, and their server sees root as the peer
 * (SO_PEERCRED uid 0): systemd's private socket or the system bus take that as root. The cage's
 * bytes (after a valid record mark, any bytes: a D-Bus handshake starts with a NUL) then go there.
 *
 * The victim: a Unix socket in a folder only root may enter, whose server says who connected and
 * what it was sent. The link is made by a real process of the proxy uid.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync, writeSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Policy } from '../../shared/policy';
import { smartcardPolicySchema } from '../../shared/smartcardPolicy';
import { CardProxies } from '../cageManager/cardProxyExecutor';
import { findBinary } from '../system/binaries';
import { cardTestRoot, missingForCardTest } from '../testing/cardFixture';
import { SOFTHSM_MODULE, type SoftToken } from '../testing/softToken';
import { waitFor } from '../testing/waitFor';
import { SmartcardBroker } from './smartcardBroker';

const missing = [...missingForCardTest('card proxy socket link attack', { cages: false, programs: ['setpriv'] }), ...(findBinary('python3') ? [] : ['python3'])];
const PROXY_UID = 50_100 + (process.pid % 100);

/** The root-only server: the peer's uid and the first bytes it got, one line. */
const VICTIM = `
import os, socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); os.chmod(sys.argv[1], 0o600); s.listen(4)
print('listening', flush=True)
while True:
    c, _ = s.accept()
    pid, uid, gid = struct.unpack('3i', c.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
    data = c.recv(64)
    print('peer uid %d sent %s' % (uid, data.hex()), flush=True)
`;

/** A record mark (last fragment, 5 bytes) and the bytes a cage chose. */
const CAGE_BYTES = Buffer.concat([Buffer.from([0x80, 0, 0, 5]), Buffer.from('HELLO')]);

describe.skipIf(missing.length > 0)('a card proxy uid against root\'s connection to its socket', () => {
  let root: string;
  let token: SoftToken;
  const started: ChildProcess[] = [];

  beforeAll(() => {
    ({ root, token } = cardTestRoot('cloison-psl-', PROXY_UID));
    mkdirSync(join(root, 'secret'), { mode: 0o700 });
    chmodSync(join(root, 'secret'), 0o700);
    writeFileSync(join(root, 'victim.py'), VICTIM);
  }, 60_000);

  afterEach(() => {
    for (const child of started.splice(0)) child.kill('SIGKILL');
  });

  /** The victim server listening at `name` in the root-only folder; its lines. */
  const victim = async (name: string) => {
    const path = join(root, 'secret', name);
    const server = spawn('python3', [join(root, 'victim.py'), path], { stdio: ['ignore', 'pipe', 'inherit'] });
    started.push(server);
    const lines: string[] = [];
    createInterface({ input: server.stdout! }).on('line', (line) => lines.push(line));
    await waitFor(() => lines.includes('listening'), 'the victim server', 10_000);
    return { path, lines };
  };

  /** The taken-over worker: the proxy's socket replaced by a link to `target`. */
  const relink = (inner: string, target: string) =>
    execFileSync('setpriv', ['--reuid', String(PROXY_UID), '--regid', String(PROXY_UID), '--clear-groups', '--', '/bin/sh', '-c', 'rm -f "$0/pkcs11.sock" && ln -s "$1" "$0/pkcs11.sock"', inner, target]);

  const policy = () => smartcardPolicySchema.parse({ module: SOFTHSM_MODULE, levels: { low: { objects: ['low-auth'], uid: PROXY_UID } }, environment: { SOFTHSM2_CONF: token.conf } });

  it('the root supervisor\'s guard: a cage\'s connection never reaches a socket only root may open', async () => {
    const { path, lines } = await victim('single.sock');
    const card = policy();
    const dir = join(root, 'card-single');
    const broker = new SmartcardBroker({ policy: { current: () => ({ smartcard: card }) }, dir, cageGid: () => 0, record: () => {}, log: () => {} });
    try {
      broker.endpoint('low');
      await broker.start();
      relink(join(dir, 'low', 'proxy'), path);
      // The cage connects to its card socket and sends a record.
      const cage = createConnection(join(dir, 'low', 'socket', 'pkcs11.sock'));
      cage.on('error', () => undefined);
      cage.write(CAGE_BYTES);
      await waitFor(() => lines.some((l) => l.startsWith('peer')), 'a connection to the victim', 5_000).catch(() => undefined);
      cage.destroy();
      expect(lines.filter((l) => l.startsWith('peer'))).toEqual([]);
    } finally {
      await broker.close();
    }
  }, 60_000);

  it('the cage manager\'s card.socket: the part is never handed a connection to a socket only root may open', async () => {
    const { path, lines } = await victim('split.sock');
    const card = policy();
    const dir = join(root, 'card-split');
    // The part's end of the channel: what arrives on the descriptor handed over is the cage's bytes (the part's guard relays them).
    const part = { send: (_message: unknown, fd?: number) => (fd !== undefined && writeSync(fd, CAGE_BYTES), true) };
    const cards = new CardProxies({ policy: () => ({ smartcard: card }) as unknown as Policy, dir, part: () => part });
    try {
      await cards.proxy({ op: 'card.proxy', level: 'low', action: 'start' });
      relink(join(dir, 'low', 'proxy'), path);
      await cards.socket({ op: 'card.socket', level: 'low' }).catch(() => undefined);
      await waitFor(() => lines.some((l) => l.startsWith('peer')), 'a connection to the victim', 5_000).catch(() => undefined);
      expect(lines.filter((l) => l.startsWith('peer'))).toEqual([]);
    } finally {
      await cards.stopAll();
    }
  }, 60_000);
});
