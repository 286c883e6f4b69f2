/**
 * Isolation of real cages (docs/design.md, Cages): from inside one cage, the other cage's home, VNC
 * socket and X display are unreachable; `none` has only loopback; `nat` cannot reach the host's
 * loopback services, the supervisor's included, not even through slirp's DNS alias with a host
 * resolver on 127.0.0.1; nothing a cage can write can be executed.
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRealCage, testRoot, type RealCage } from '../testing/realCage';

describe('cage isolation (real bwrap cages)', () => {
  const root = testRoot();
  let low: RealCage;
  let high: RealCage;
  let hostServer: Server;
  let hostPort = 0;
  const SECRET = `high-secret-${process.pid}-${Date.now()}`;

  beforeAll(async () => {
    // The host's resolver, as slirp4netns would see it, on the host's loopback (dnsmasq, unbound…).
    writeFileSync(join(root, 'host-resolv.conf'), 'nameserver 127.0.0.1\n');
    // Both kept as they come: one failing to start must not leave the other running behind the test.
    const started = await Promise.allSettled([
      startRealCage({ level: 'low', network: 'nat', geometry: '800x600', root, hostResolvConf: join(root, 'host-resolv.conf') }).then((c) => (low = c)),
      startRealCage({ level: 'high', network: 'none', geometry: '1024x768', root }).then((c) => (high = c)),
    ]);
    for (const s of started) if (s.status === 'rejected') throw s.reason;
    writeFileSync(join(high.paths.home, 'secret.txt'), SECRET);
    hostServer = createServer((s) => s.end('host-service\n'));
    await new Promise<void>((r) => hostServer.listen(0, '127.0.0.1', () => r()));
    hostPort = (hostServer.address() as { port: number }).port;
  });

  afterAll(async () => {
    hostServer?.close();
    await Promise.all([low?.stop(), high?.stop()]);
  });

  it('runs every cage process as the cage user with no capabilities', async () => {
    const r = await low.sh('id -u; grep -E "^Cap(Eff|Prm|Bnd)" /proc/self/status');
    expect(r.stdout).toContain(`${low.uid}\n`);
    expect(r.stdout).toMatch(/CapEff:\s+0{16}/);
    expect(r.stdout).toMatch(/CapBnd:\s+0{16}/);
    // The cage's own Xvnc, seen from the host: same uid, no capability.
    const xvnc = readdirSync('/proc').filter((p) => /^\d+$/.test(p)).find((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('cloison-low') && readFileSync(`/proc/${p}/status`, 'utf8').includes(`Uid:\t${low.uid}`);
      } catch {
        return false;
      }
    });
    expect(xvnc).toBeDefined();
    expect(readFileSync(`/proc/${xvnc}/status`, 'utf8')).toMatch(/CapEff:\s+0{16}/);
  });

  it('does not let low read the high home, by its host path or any path', async () => {
    const r = await low.sh(`cat ${join(high.paths.home, 'secret.txt')}; ls ${high.paths.home}; grep -rs ${SECRET} /home /run /tmp /var /etc /root; echo done`);
    expect(r.stdout.trim()).toBe('done');
    expect(r.stdout + r.stderr).not.toContain(SECRET);
  });

  it('does not let low reach the high VNC socket', async () => {
    const r = await low.sh(`test -e ${high.driver.vncSocket} && echo visible; ls -ln /run/cloison`);
    expect(r.stdout).not.toContain('visible');
    // The only VNC socket in sight is low's own, owned by low's user.
    expect(r.stdout).toMatch(new RegExp(`s[rwx-]{9}\\s+\\d+\\s+${low.uid}\\s+${low.uid}.*vnc\\.sock`));
  });

  it('shows low only its own X display', async () => {
    const r = await low.sh('xdpyinfo -display :0 | grep dimensions; xdpyinfo -display :1 2>&1 | head -1; ls /tmp/.X11-unix');
    expect(r.stdout).toContain('800x600 pixels'); // low's geometry; high's is 1024x768
    expect(r.stdout).not.toContain('1024x768');
    expect(r.stdout).toMatch(/unable to open display/);
    expect(r.stdout.trim().split('\n').at(-1)).toBe('X0');
  });

  it('shows low none of the high processes', async () => {
    const r = await low.sh('cat /proc/[0-9]*/cmdline 2>/dev/null | tr "\\0" " "');
    expect(r.stdout).toContain('cloison-low');
    expect(r.stdout).not.toContain('cloison-high');
  });

  it('gives a network "none" cage only a loopback interface', async () => {
    const r = await high.sh('cat /proc/net/dev');
    const interfaces = r.stdout.split('\n').slice(2).map((l) => l.split(':')[0]?.trim()).filter(Boolean);
    expect(interfaces).toEqual(['lo']);
  });

  it('runs slirp4netns sandboxed, with its seccomp filter and the DNS alias off, and gives the cage no loopback resolver', async () => {
    const slirp = readdirSync('/proc').filter((p) => /^\d+$/.test(p)).map((p) => {
      try {
        return { pid: p, argv: readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0') };
      } catch {
        return { pid: p, argv: [] };
      }
    }).find((p) => p.argv[0]?.endsWith('slirp4netns') && p.argv.includes(String(low.cage.innerPid)));
    expect(slirp).toBeDefined();
    expect(slirp!.argv).toEqual(expect.arrayContaining(['--enable-sandbox', '--enable-seccomp', '--disable-dns', '--disable-host-loopback']));
    expect(readFileSync(`/proc/${slirp!.pid}/status`, 'utf8')).toMatch(/Seccomp:\s+2/);
    expect((await low.sh('cat /etc/resolv.conf')).stdout).not.toMatch(/127\./);
  });

  it('keeps the host loopback (and the supervisor) out of reach of a "nat" cage', async () => {
    // Control: the service answers on the host, and the cage has its NAT interface.
    const nat = await low.sh('for i in $(seq 50); do grep -q tap0 /proc/net/dev && break; sleep 0.1; done; cat /proc/net/dev');
    expect(nat.stdout).toContain('tap0');
    for (const addr of ['127.0.0.1', '10.0.2.2', '10.0.2.3']) {
      const r = await low.sh(`timeout 3 bash -c 'exec 3<>/dev/tcp/${addr}/${hostPort} && head -1 <&3' && echo REACHED`, 8000);
      expect(r.stdout).not.toContain('host-service');
      expect(r.stdout).not.toContain('REACHED');
    }
  });
});

describe('what a cage can write, it cannot run', () => {
  let cage: RealCage;
  beforeAll(async () => {
    cage = await startRealCage({ level: 'low' });
  });
  afterAll(async () => {
    await cage?.stop();
  });

  it('a program copied into the home, /tmp, /var/tmp or /dev/shm fails to execute (EACCES)', async () => {
    for (const dir of ['$HOME', '/tmp', '/var/tmp', '/dev/shm']) {
      const r = await cage.sh(`cp /usr/bin/true ${dir}/t && chmod 755 ${dir}/t && ${dir}/t; echo "status=$?"`);
      expect(r.stdout + r.stderr, dir).toMatch(/Permission denied/);
      expect(r.stdout, dir).toContain('status=126');
    }
    // Control: the same program from /usr runs.
    expect((await cage.sh('/usr/bin/true; echo "status=$?"')).stdout).toContain('status=0');
  });

  it('the writable places are noexec,nosuid,nodev mounts, and the socket folders are root\'s', async () => {
    const mounts = (await cage.sh('cat /proc/self/mountinfo')).stdout.split('\n');
    for (const target of ['/home/cloison', '/tmp', '/var/tmp', '/dev/shm', '/run/cloison', '/tmp/.X11-unix']) {
      const line = mounts.find((l) => l.split(' ')[4] === target);
      expect(line, target).toBeDefined();
      expect(line!.split(' ')[5], target).toMatch(/(^|,)noexec(,|$)/);
      expect(line!.split(' ')[5], target).toMatch(/nosuid/);
    }
    const r = await cage.sh('ls -ldn /run/cloison /tmp/.X11-unix; touch /run/cloison/x 2>&1; rm -f /run/cloison/vnc.sock 2>&1; echo end');
    expect(r.stdout).toMatch(/^drwxr-xr-x\s+\d+\s+0\s+0 .*\/run\/cloison$/m);
    expect(r.stdout).toMatch(/Permission denied[\s\S]*Permission denied/);
  });
});
