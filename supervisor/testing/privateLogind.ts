/**
 * Test tool: a system bus of the test's own (dbus-daemon on a socket in a temporary folder) with the
 * machine's real systemd-logind on it, so the lock before sleep is tested against logind itself:
 * its inhibitors are real. Only where no logind runs already (a second one would fight over
 * /run/systemd); the caller skips, saying so, otherwise.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeSystemd } from './fakeSystemdBus';
import { waitFor } from './waitFor';

const LOGIND = ['/lib/systemd/systemd-logind', '/usr/lib/systemd/systemd-logind'].find((p) => existsSync(p));

export interface PrivateLogind {
  /** DBUS_SYSTEM_BUS_ADDRESS for the tools that should use this bus. */
  address: string;
  /**
   * logind itself announces the sleep (asked to Suspend: PrepareForSleep true) or the resume (its
   * job ended: false). A signal emitted by anyone else is a forgery the lock before sleep ignores.
   */
  announce(going: boolean): Promise<void>;
  stop(): void;
}

/** Why a private logind cannot run here, or null when it can. */
export function privateLogindUnavailable(): string | null {
  if (!LOGIND) return 'systemd-logind is not installed';
  if (existsSync('/run/dbus/system_bus_socket')) return 'this machine runs a system bus (and likely logind): a second logind would fight over /run/systemd';
  return null;
}

export async function startPrivateLogind(): Promise<PrivateLogind> {
  const dir = mkdtempSync(join(tmpdir(), 'cloison-bus-'));
  const socket = join(dir, 'bus');
  writeFileSync(
    join(dir, 'bus.conf'),
    `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>system</type><listen>unix:path=${socket}</listen><auth>EXTERNAL</auth>
<policy context="default"><allow user="*"/><allow own="*"/><allow send_destination="*"/><allow receive_sender="*"/></policy></busconfig>\n`,
  );
  // Every local account may connect and emit a signal, as on the machine's system bus: a test's forger is one.
  chmodSync(dir, 0o755);
  const address = `unix:path=${socket}`;
  const children: ChildProcess[] = [];
  const bus = spawn('dbus-daemon', ['--nofork', `--config-file=${join(dir, 'bus.conf')}`], { stdio: 'ignore' });
  children.push(bus);
  await waitFor(() => existsSync(socket), 'the private system bus');
  // logind suspends only where the kernel says it can: in a mount namespace of its own it reads that
  // it can; it never sleeps the machine itself (systemd would, and the systemd here is fakeSystemdBus.ts).
  writeFileSync(join(dir, 'power-state'), 'freeze mem\n');
  const logind = spawn('unshare', ['-m', '--', 'sh', '-c', 'mount --bind "$1" /sys/power/state && exec "$2"', 'sh', join(dir, 'power-state'), LOGIND!], { stdio: 'ignore', env: { ...process.env, DBUS_SYSTEM_BUS_ADDRESS: address } });
  children.push(logind);
  await waitFor(async () => (await busctl(address, ['status', 'org.freedesktop.login1'])).code === 0, 'logind on the private bus');
  const systemd = await startFakeSystemd(address);
  return {
    address,
    async announce(going) {
      if (!going) return systemd.resume();
      const asked = await busctl(address, ['call', 'org.freedesktop.login1', '/org/freedesktop/login1', 'org.freedesktop.login1.Manager', 'Suspend', 'b', 'false']);
      if (asked.code !== 0) throw new Error('logind refused to suspend on the private bus');
    },
    stop() {
      systemd.stop();
      for (const c of children.reverse()) c.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Runs busctl on the private bus. */
export function busctl(address: string, args: string[]): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn('busctl', ['--system', ...args], { stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, DBUS_SYSTEM_BUS_ADDRESS: address } });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.on('exit', (code) => resolve({ code: code ?? 1, stdout }));
    child.on('error', () => resolve({ code: 1, stdout }));
  });
}
