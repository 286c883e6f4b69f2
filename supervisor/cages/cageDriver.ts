/**
 * What a cage driver does: turn a policy entry into a running cage with a VNC endpoint.
 */
import type { NetConnectOpts, Socket } from 'node:net';
import type { TunnelView } from '../../shared/rpc';
import type { CageLauncher } from './cageLauncher';
import type { AppQuitOutcome } from './appQuit';

export interface CageExit {
  /** Supervisor-written explanation (exit code, last lines of stderr), never shown as trusted text. */
  reason: string;
}

export interface RunningCage {
  /** Where the gateway connects for this cage's VNC server. */
  endpoint: NetConnectOpts;
  /**
   * The size its X screen was started at, when its driver knows it (bwrap; through the cage manager,
   * its answer): the screen's sizing starts from it, so a cage started at its frame's size is not resized.
   */
  screen?: { width: number; height: number } | null;
  /** The desktop colour its session painted as its X server started (bwrap): not painted again. */
  desktopColour?: string | null;
  /** PID of the process inside the cage's namespaces (bwrap only), for tests and brokers. */
  innerPid: number | null;
  /** Resolves once the cage has gone, for whatever reason. */
  exited: Promise<CageExit>;
  stop(): Promise<void>;
  /** Asks the cage's applications to quit as the user would, waiting `timeoutMs` at most (appQuit.ts); bwrap only. */
  quitApps?(timeoutMs: number): Promise<AppQuitOutcome>;
  /**
   * Throws unless the process at the other end of a connection to `endpoint` is this cage's own
   * VNC server (its uid, in its sandbox). Called before any byte is relayed.
   */
  verifyPeer?(socket: Socket): void;
  /**
   * A connection to the cage's VNC server made and peer-checked by whoever holds the cage (the root
   * cage manager, `cage.vncSocket`), handed over unread: the handle the gateway takes as `{ handle }`.
   * Set where this process cannot connect to `endpoint` itself (cageManager/remoteCageDriver.ts).
   */
  openVnc?(): Promise<object>;
  /** The one way to start programs in the cage (bwrap only): cageLauncher.ts. */
  launcher?: CageLauncher;
  /** Limits the cage reached while running (memory, tasks, home): supervisor-written text. */
  onNotice?(listener: (notice: CageNotice) => void): void;
  /**
   * How many windows each of the level's apps whose windows' class is known has open, counted by
   * whoever holds the cage's launcher (the root cage manager, `app.windows`); null when the cage was
   * not asked. Set where this process holds no launcher (cageManager/remoteCageDriver.ts).
   */
  appWindows?(): Promise<Array<{ appId: string; windows: number }> | null>;
  /** The cage's own sound server's FIFOs (the supervisor's), when it has one. */
  sound?: { out: string; mic: string | null };
  /** A level on a WireGuard network: its tunnel's state now, and every change. */
  tunnel?: { current(): TunnelView; onChange(listener: (view: TunnelView) => void): void };
}

export interface CageNotice {
  limit: 'memory' | 'tasks' | 'home';
  /** What to show; empty once the condition has passed (room again in the home). */
  message: string;
}

export interface CageDriver {
  /** Resolves when the VNC endpoint answers with an RFB greeting; rejects with a clear reason. */
  start(): Promise<RunningCage>;
}
