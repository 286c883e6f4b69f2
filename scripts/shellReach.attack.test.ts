/**
 * Attack (privacy-8): the trusted shell's Chromium talks to the outside, and leaves dumps of its
 * memory in the user's home. The shell only ever loads pages from the cloison part and the cages'
 * viewers, all on 127.x; yet Chromium, with the flags start.mjs gives it, looks names up and
 * connects at every start (the on-device model's update check, the Google accounts list, the
 * network time), and starts two crash handlers that keep their reports in ~/.config/chromium —
 * outside the shell's fresh profile: a dump of the shell's memory (the trusted PIN dialog's input,
 * the launch secret, what crosses the clipboard) would stay on disk after a crash.
 *
 * Here: Chromium run as npm start runs it (/usr/bin/chromium, an unprivileged uid, its HOME a test
 * folder, shellChromiumArgs' flags), on a page served on 127.0.0.1 with a viewer frame on
 * 127.0.0.2, for ~20 s, inside a network namespace of its own: loopback, and a link with a default
 * route that goes nowhere (a veth pair whose both ends stay in the namespace), so that Chromium
 * believes it is online — offline, it holds some requests back — while no packet can leave the
 * namespace. strace records every connect and send; Chromium's --v=1 log names the requests.
 *
 * What a user should get: no look-up and no connection but to 127.x, no crash handler, nothing
 * written under ~/.config/chromium; the page and its viewer frame still load.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { shellChromiumArgs, writeShellChromiumProfile } from './shellChromium.mjs';
import { testRoot } from '../supervisor/testing/testRoots';

const CHROMIUM = '/usr/bin/chromium'; // as start.mjs finds it first
const SHELL_UID = 56_850 + (process.pid % 50);
const PORT = 8765; // in the namespace's own loopback: no one else's
const SECONDS = 20;
const have = (b: string) => spawnSync('sh', ['-c', `command -v ${b}`]).status === 0;
const missing = ['unshare', 'strace', 'setpriv', 'xvfb-run', 'ip', 'timeout'].filter((b) => !have(b));
if (!existsSync(CHROMIUM)) missing.push(CHROMIUM);
const rootless = process.getuid?.() !== 0;

/** Inside the new network namespace (and xvfb-run's display): the network, the pages, Chromium under strace. */
const INNER = `set -e
R="$1"; U="$2"; NODE="$3"; PORT="$4"; SECS="$5"; shift 5
ip link set lo up
ip link add reach0 type veth peer name reach1
ip link set reach0 up; ip link set reach1 up
ip addr add 10.254.1.2/24 dev reach0; ip route add default dev reach0
ip -6 addr add fd00:8::2/64 dev reach0 nodad; ip -6 route add default dev reach0
"$NODE" "$R/pages.cjs" "$R/served" "$PORT" &
PAGES=$!
i=0; while [ ! -s "$R/served" ] && [ $i -lt 50 ]; do i=$((i + 1)); sleep 0.1; done
cp "$XAUTHORITY" "$R/Xauthority"; chown "$U:$U" "$R/Xauthority"
strace -f -qq -yy -e trace=connect,sendto,sendmsg,sendmmsg,execve -o "$R/trace" \\
  setpriv --reuid="$U" --regid="$U" --clear-groups -- env HOME="$R/home" USER=shell LOGNAME=shell PATH=/usr/bin:/bin LANG=C.UTF-8 \\
  DISPLAY="$DISPLAY" XAUTHORITY="$R/Xauthority" timeout -s TERM "$SECS" ${CHROMIUM} "$@" >"$R/chromium.log" 2>&1 || true
kill $PAGES
`;

/** The shell's page on 127.0.0.1 with a viewer frame on 127.0.0.2, as the part and a cage serve them; each request logged. */
const PAGES = `const http = require('node:http'); const fs = require('node:fs');
const [log, port] = process.argv.slice(2);
const page = (body) => '<!doctype html><meta charset="utf-8"><title>shell</title>' + body;
let listening = 0;
for (const host of ['127.0.0.1', '127.0.0.2']) {
  http.createServer((req, res) => {
    fs.appendFileSync(log, host + ' ' + req.url + '\\n');
    res.setHeader('content-type', 'text/html');
    res.end(host === '127.0.0.1' ? page('<iframe src="http://127.0.0.2:' + port + '/viewer"></iframe>') : page('viewer'));
  }).listen(Number(port), host, () => { if (++listening === 2) fs.appendFileSync(log, 'listening\\n'); });
}
`;

interface Reach {
  /** Each connect or send to a non-loopback address, or to port 53 anywhere: a packet that would leave, or a look-up. */
  leaks: string[];
  /** Connects of Chromium's IPv6 reachability check: a datagram socket connected to ask the kernel for a route, never sent on. */
  routeChecks: number;
  /** Crash handlers started. */
  crashHandlers: number;
  /** Whether the trace saw Chromium itself start. */
  chromiumRan: boolean;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/;
/** Chromium's IPv6 reachability probe (net/dns/host_resolver_manager.cc, kIPv6ProbeAddress): before every resolution, an IP literal's included. */
const IPV6_PROBE = '2001:4860:4860::8888';

/** Reads strace -yy's lines: the destinations of connect and send calls, and the programs started. */
function readTrace(text: string): Reach {
  const reach: Reach = { leaks: [], routeChecks: 0, crashHandlers: 0, chromiumRan: false };
  for (const line of text.split('\n')) {
    if (/execve\("[^"]*\/chrome_crashpad_handler"/.test(line) && !/ENOENT/.test(line)) reach.crashHandlers += 1;
    if (/execve\("\/usr\/lib\/chromium\/chromium"/.test(line)) reach.chromiumRan = true;
    const call = /^\d+\s+(connect|sendto|sendmsg|sendmmsg)\((\d+)(<[A-Za-z0-9]+:\[.*?\]>)?/.exec(line);
    if (!call) continue;
    const [, name, , socket = ''] = call;
    const destinations: Array<[string, number]> = [];
    for (const m of line.matchAll(/sin_port=htons\((\d+)\), sin_addr=inet_addr\("([^"]+)"\)/g)) destinations.push([m[2] ?? '', Number(m[1])]);
    for (const m of line.matchAll(/sin6_port=htons\((\d+)\).*?inet_pton\(AF_INET6, "([^"]+)"/g)) destinations.push([m[2] ?? '', Number(m[1])]);
    // A connected socket's peer, as -yy prints it: [local->peer] (v4) or [[local]:p->[peer]:q] (v6).
    const peer = /->\[([0-9a-f:.]+)\]:(\d+)\]/.exec(socket) ?? /->([0-9.]+):(\d+)\]/.exec(socket);
    if (peer && name !== 'connect') destinations.push([peer[1] ?? '', Number(peer[2])]);
    for (const [address, port] of destinations) {
      const protocol = /^<([A-Za-z0-9]+)/.exec(socket)?.[1] ?? 'socket';
      const datagram = protocol.startsWith('UDP');
      if (port !== 53 && LOOPBACK.test(address)) continue;
      if (name === 'connect' && datagram && address === IPV6_PROBE && port !== 53) {
        reach.routeChecks += 1;
        continue;
      }
      reach.leaks.push(`${name} ${protocol} ${address} port ${port}`);
    }
  }
  return reach;
}

/** The hosts Chromium made requests to, from its --v=1 log (the network delegate names each one). */
function requestedHosts(log: string): string[] {
  const hosts = [...log.matchAll(/NotifyBeforeURLRequest: [a-z]+:\/\/([^/:?]+)/g)].map((m) => m[1] ?? '');
  return [...new Set(hosts)].sort();
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).map((name) => relative(dir, join(dir, name)));
}

describe.skipIf(missing.length > 0 || rootless)("the shell's Chromium, started as npm start starts it", () => {
  it('reaches nothing but 127.x, looks no name up, and keeps no crash handler nor anything under ~/.config/chromium', () => {
    const root = testRoot('cloison-reach-');
    chmodSync(root, 0o711);
    const profile = join(root, 'profile');
    const home = join(root, 'home');
    mkdirSync(profile, { mode: 0o700 });
    mkdirSync(home, { mode: 0o700 });
    for (const dir of [profile, home]) chownSync(dir, SHELL_UID, SHELL_UID);
    writeShellChromiumProfile(profile, { locale: 'en', owner: { uid: SHELL_UID, gid: SHELL_UID } });
    writeFileSync(join(root, 'inner.sh'), INNER, { mode: 0o755 });
    writeFileSync(join(root, 'pages.cjs'), PAGES);
    const args = [`--app=http://127.0.0.1:${PORT}/`, `--user-data-dir=${profile}`, ...shellChromiumArgs({ locale: 'en' }), '--enable-logging=stderr', '--v=1'];

    const run = spawnSync('unshare', ['-n', '--', 'xvfb-run', '-a', '-s', '-screen 0 1280x800x24', '/bin/sh', join(root, 'inner.sh'), root, String(SHELL_UID), process.execPath, String(PORT), String(SECONDS), ...args], { encoding: 'utf8', timeout: 100_000 });
    expect(run.status, run.stderr).toBe(0);

    // The control: Chromium ran, under the trace, and loaded the page and its viewer frame.
    const reach = readTrace(readFileSync(join(root, 'trace'), 'utf8'));
    expect(reach.chromiumRan).toBe(true);
    const served = readFileSync(join(root, 'served'), 'utf8');
    expect(served).toContain('127.0.0.1 /\n');
    expect(served).toContain('127.0.0.2 /viewer\n');

    const hosts = requestedHosts(readFileSync(join(root, 'chromium.log'), 'utf8')).filter((h) => !LOOPBACK.test(h));
    const leaks = [...new Set(reach.leaks)].map((leak) => `${leak} (×${reach.leaks.filter((l) => l === leak).length})`);
    expect.soft(leaks, `Chromium's requests beyond 127.x: ${hosts.join(', ') || 'none logged'}`).toEqual([]);
    expect.soft(reach.crashHandlers, 'crash handlers started').toBe(0);
    expect.soft(filesUnder(join(home, '.config', 'chromium'))).toEqual([]);
  }, 150_000);
});

describe('reading the trace', () => {
  it('counts a look-up, a connection out and a send out, and lets loopback and the route check through', () => {
    const trace = [
      '10 execve("/usr/lib/chromium/chromium", ["chromium"], 0x0 /* 3 vars */) = 0',
      '11 execve("/usr/lib/chromium/chrome_crashpad_handler", ["chrome_crashpad_handler"], 0x0 /* 3 vars */) = 0',
      '12 connect(113<UDP:[1]>, {sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("10.255.255.53")}, 16) = -1 ENETUNREACH (Network is unreachable)',
      '12 connect(114<TCP:[2]>, {sa_family=AF_INET, sin_port=htons(443), sin_addr=inet_addr("142.250.1.1")}, 16 <unfinished ...>',
      '12 connect(115<TCP:[3]>, {sa_family=AF_INET, sin_port=htons(8765), sin_addr=inet_addr("127.0.0.2")}, 16) = -1 EINPROGRESS (Operation now in progress)',
      '12 connect(116<UDPv6:[4]>, {sa_family=AF_INET6, sin6_port=htons(443), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "2001:4860:4860::8888", &sin6_addr), sin6_scope_id=0}, 28) = 0',
      '12 connect(117<UDPv6:[5]>, {sa_family=AF_INET6, sin6_port=htons(443), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "2a00:1450::1", &sin6_addr), sin6_scope_id=0}, 28) = 0',
      '12 sendto(118<UDP:[10.254.1.2:4000->8.8.4.4:443]>, "x", 1, 0, NULL, 0) = 1',
      '12 sendmsg(119<UDP:[127.0.0.1:4000->127.0.0.1:9]>, {msg_name=NULL}, 0) = 1',
      '12 sendmsg(121<UDPv6:[[fd00:8::2]:4000->[2001:db8::1]:443]>, {msg_name=NULL}, 0) = 1',
      '12 connect(120<UNIX:[6]>, {sa_family=AF_UNIX, sun_path="/run/dbus/system_bus_socket"}, 29) = -1 ENOENT',
    ].join('\n');
    const reach = readTrace(trace);
    expect(reach.chromiumRan).toBe(true);
    expect(reach.crashHandlers).toBe(1);
    expect(reach.routeChecks).toBe(1);
    expect(reach.leaks).toEqual([
      'connect UDP 10.255.255.53 port 53',
      'connect TCP 142.250.1.1 port 443',
      'connect UDPv6 2a00:1450::1 port 443',
      'sendto UDP 8.8.4.4 port 443',
      'sendmsg UDPv6 2001:db8::1 port 443',
    ]);
  });
});
