/**
 * Locks the workstation before the machine sleeps, where systemd-logind runs: the supervisor holds
 * a *delay* inhibitor for sleep, and when logind announces the sleep (PrepareForSleep true) it
 * locks first, gives the shell a moment to draw the lock screen, then lets go of the inhibitor so
 * the machine may sleep; on resume (PrepareForSleep false) it takes the inhibitor again. So the
 * screen is locked before sleep, not after resume (Qubes #8601 shows the other order).
 *
 * Both ends are systemd's own tools: `systemd-inhibit` holds the inhibitor while a child of ours
 * reads our pipe (if the supervisor dies, the pipe closes and the inhibitor goes with it), and
 * `busctl monitor` reports the signal, only from the bus name logind owns: any local account may
 * emit a PrepareForSleep on the system bus, and each forged one made the cage manager journal a
 * sleep (a fsync'd record in root's journal) and the part lock the screen, without end.
 *
 * Where logind does not run, nothing makes the machine wait: the state says `unavailable` and the
 * shell says so; the idle lock still applies on resume.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { findBinary } from '../system/binaries';

const SIGNAL_MATCH = "type='signal',sender='org.freedesktop.login1',path='/org/freedesktop/login1',interface='org.freedesktop.login1.Manager',member='PrepareForSleep'";

export interface SleepGuardOptions {
  /** Called when the machine is about to sleep: lock now. */
  onSleep: () => void;
  /** How long the shell has to draw the lock screen before the machine may sleep. */
  settleMs?: number;
  /** The environment of the tools (tests point DBUS_SYSTEM_BUS_ADDRESS at a bus of their own). */
  env?: NodeJS.ProcessEnv;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
  onState?: (state: SleepGuardState) => void;
}

export type SleepGuardState = 'logind' | 'unavailable';

/** The lock before sleep as the supervisor drives it: held here (SleepGuard) or by the cage manager (remoteSleepGuard.ts). */
export interface LockBeforeSleep {
  readonly state: SleepGuardState;
  start(): void;
  /** Takes the inhibitor again if it was let go (after an unlock). */
  hold(): void;
  stop(): void;
}

export class SleepGuard implements LockBeforeSleep {
  private inhibitor: ChildProcess | null = null;
  private monitor: ChildProcess | null = null;
  private held = false;
  private stopped = false;

  constructor(private readonly options: SleepGuardOptions) {}

  get state(): SleepGuardState {
    return this.held ? 'logind' : 'unavailable';
  }

  start(): void {
    const busctl = findBinary('busctl');
    if (!busctl || !findBinary('systemd-inhibit')) return this.options.log?.('no lock before sleep: systemd (busctl, systemd-inhibit) is not installed');
    this.hold();
    const monitor = spawn(busctl, ['--system', 'monitor', '--json=short', `--match=${SIGNAL_MATCH}`], { stdio: ['ignore', 'pipe', 'ignore'], env: this.env() });
    monitor.on('error', () => undefined);
    createInterface({ input: monitor.stdout! }).on('line', (line) => this.onSignal(line));
    this.monitor = monitor;
  }

  /** Takes the delay inhibitor again if it is not held (after a resume, or after an unlock). */
  hold(): void {
    if (this.stopped || this.inhibitor) return;
    const inhibit = findBinary('systemd-inhibit');
    if (!inhibit) return;
    // The child says "held" once logind granted the inhibitor, then holds it while our pipe is open.
    const child = spawn(inhibit, ['--what=sleep', '--mode=delay', '--who=Cloison', '--why=Lock the screen before sleep', '--', 'sh', '-c', 'echo held; exec cat'], { stdio: ['pipe', 'pipe', 'ignore'], env: this.env() });
    child.on('error', () => undefined);
    child.stdin!.on('error', () => undefined);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line !== 'held') return;
      this.held = true;
      this.options.onState?.('logind');
    });
    child.on('exit', () => {
      if (this.inhibitor === child) this.inhibitor = null;
      const was = this.held;
      this.held = false;
      if (was) this.options.onState?.('unavailable');
    });
    this.inhibitor = child;
  }

  stop(): void {
    this.stopped = true;
    this.release();
    this.monitor?.kill();
    this.monitor = null;
  }

  private release(): void {
    this.inhibitor?.stdin?.end();
  }

  private onSignal(line: string): void {
    let going: unknown;
    try {
      going = (JSON.parse(line) as { payload?: { data?: unknown[] } }).payload?.data?.[0];
    } catch {
      return;
    }
    if (going === true) {
      this.options.onSleep();
      setTimeout(() => this.release(), this.options.settleMs ?? 500).unref();
    } else if (going === false) {
      this.hold();
    }
  }

  private env(): NodeJS.ProcessEnv {
    return { PATH: process.env.PATH ?? '/usr/bin:/bin', ...this.options.env };
  }
}
