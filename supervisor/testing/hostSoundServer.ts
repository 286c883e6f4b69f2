/**
 * Test tool: the host's sound server, a real PulseAudio started by the test as the account the
 * relay runs as (setup.sh's cloison-shell-test), with a null sink standing for the speakers (its
 * monitor is what the test records) and a sine source standing for the microphone (a 440 Hz test
 * tone). Its socket admits anonymous clients, so the test itself can record the speakers.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { HostSoundTarget } from '../audio/hostSound';
import { account } from '../system/accounts';
import { waitFor } from './waitFor';

const run = promisify(execFile);

export const HOST_MIC_FREQUENCY = 440;

export interface HostSoundServer {
  target: HostSoundTarget;
  /**
   * Mono s16le 44.1 kHz from the speakers (the null sink's monitor): `ms` milliseconds of sound,
   * counted in bytes — a null sink with no low-latency client starts in blocks of seconds.
   */
  recordSpeakers(ms: number): Promise<Buffer>;
  /** Runs pactl against this server (suspend-sink speakers 1: the speakers stop taking sound). */
  pactl(...args: string[]): Promise<void>;
  stop(): void;
}

export async function startHostSoundServer(user = 'cloison-shell-test'): Promise<HostSoundServer> {
  const who = account(user);
  if (!who) throw new Error(`no account ${user} (scripts/setup.sh makes it)`);
  const dir = mkdtempSync(join(tmpdir(), 'cloison-pa-'));
  chmodSync(dir, 0o755);
  const runtime = join(dir, 'runtime');
  mkdirSync(runtime, { mode: 0o700 });
  chownSync(runtime, who.uid, who.gid);
  const socket = join(runtime, 'native'); // the server's own folder: it creates its socket there
  writeFileSync(
    join(dir, 'host.pa'),
    [
      'load-module module-null-sink sink_name=speakers rate=44100',
      `load-module module-sine-source source_name=microphone frequency=${HOST_MIC_FREQUENCY} rate=44100`,
      `load-module module-native-protocol-unix socket=${socket} auth-anonymous=1`,
      'set-default-sink speakers',
      'set-default-source microphone',
      '',
    ].join('\n'),
    { mode: 0o644 },
  );
  const server: ChildProcess = spawn(
    'setpriv',
    [`--reuid=${who.uid}`, `--regid=${who.gid}`, '--clear-groups', '--', 'pulseaudio', '-n', '-F', join(dir, 'host.pa'), '--exit-idle-time=-1', '--daemonize=no', '--use-pid-file=no', '--disable-shm=yes', '--realtime=no', '--high-priority=no', '--log-target=stderr'],
    { stdio: 'ignore', env: { PATH: '/usr/bin:/bin', HOME: runtime, XDG_RUNTIME_DIR: runtime } },
  );
  await waitFor(() => existsSync(socket), 'the host sound server');
  const env = { ...process.env, PULSE_SERVER: `unix:${socket}` };
  return {
    target: { server: `unix:${socket}`, uid: who.uid, gid: who.gid, home: runtime },
    async recordSpeakers(ms) {
      const rec = spawn('parec', ['-d', 'speakers.monitor', '--latency-msec=50', '--raw', '--format=s16le', '--rate=44100', '--channels=1'], { env, stdio: ['ignore', 'pipe', 'ignore'] });
      const chunks: Buffer[] = [];
      const wanted = Math.round((ms * 44100 * 2) / 1000);
      let got = 0;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, ms + 6000);
        rec.stdout.on('data', (d: Buffer) => {
          chunks.push(d);
          got += d.length;
          if (got >= wanted) {
            clearTimeout(timer);
            resolve();
          }
        });
      });
      rec.kill('SIGTERM');
      await new Promise((r) => rec.once('exit', r));
      return Buffer.concat(chunks).subarray(-wanted);
    },
    async pactl(...args) {
      await run('pactl', args, { env });
    },
    stop() {
      server.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
