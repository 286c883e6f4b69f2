/**
 * What a cage driver does: turn a policy entry into a running cage with a VNC endpoint.
 */
import type { NetConnectOpts } from 'node:net';

export interface CageExit {
  /** Supervisor-written explanation (exit code, last lines of stderr), never shown as trusted text. */
  reason: string;
}

export interface RunningCage {
  /** Where the gateway connects for this cage's VNC server. */
  endpoint: NetConnectOpts;
  /** PID of the process inside the cage's namespaces (bwrap only), for tests and brokers. */
  innerPid: number | null;
  /** Resolves once the cage has gone, for whatever reason. */
  exited: Promise<CageExit>;
  stop(): Promise<void>;
}

export interface CageDriver {
  /** Resolves when the VNC endpoint answers with an RFB greeting; rejects with a clear reason. */
  start(): Promise<RunningCage>;
}
