/**
 * The vnc cage driver: an existing VNC endpoint (Unix socket or host:port) — a VM, a container, a
 * remote machine. The supervisor does not own its process; it watches it by probing.
 */
import type { NetConnectOpts } from 'node:net';
import type { VncCagePolicy } from '../../shared/policy';
import type { CageDriver, CageExit, RunningCage } from './cageDriver';
import { probeRfb } from './rfbProbe';

export interface VncDriverOptions {
  cage: VncCagePolicy;
  /** How often a running endpoint is probed to notice it has gone. */
  watchIntervalMs?: number;
}

export class VncDriver implements CageDriver {
  constructor(private readonly options: VncDriverOptions) {}

  get endpoint(): NetConnectOpts {
    const ep = this.options.cage.endpoint;
    return 'socket' in ep ? { path: ep.socket } : { host: ep.host, port: ep.port };
  }

  async start(): Promise<RunningCage> {
    const endpoint = this.endpoint;
    try {
      await probeRfb(endpoint);
    } catch (err) {
      throw new Error(`VNC endpoint ${describe(endpoint)} unreachable: ${(err as Error).message}`);
    }
    let stopWatching = () => {};
    const exited = new Promise<CageExit>((resolve) => {
      const timer = setInterval(() => {
        probeRfb(endpoint).catch((err: Error) => {
          clearInterval(timer);
          resolve({ reason: `VNC endpoint ${describe(endpoint)} stopped answering: ${err.message}` });
        });
      }, this.options.watchIntervalMs ?? 5000);
      stopWatching = () => {
        clearInterval(timer);
        resolve({ reason: 'stopped by the supervisor' });
      };
    });
    return { endpoint, innerPid: null, exited, stop: async () => stopWatching() };
  }
}

function describe(ep: NetConnectOpts): string {
  return 'path' in ep && ep.path ? ep.path : `${(ep as { host?: string }).host}:${(ep as { port?: number }).port}`;
}
