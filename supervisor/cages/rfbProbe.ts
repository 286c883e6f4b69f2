/**
 * Checks that an endpoint speaks RFB: connect, read the 12-byte ProtocolVersion, hang up. With
 * `verifyPeer`, the peer is checked on connection, before anything is read.
 */
import { connect, type NetConnectOpts, type Socket } from 'node:net';
import { connectRefusingDescriptors } from '../system/refusePassedDescriptors';

export function probeRfb(endpoint: NetConnectOpts, timeoutMs = 2000, verifyPeer?: (socket: Socket) => void): Promise<string> {
  return openRfbProbe(endpoint, timeoutMs, verifyPeer).greeting;
}

/** The server took the connection but said nothing in time (not a server that went away). */
export class RfbSilentError extends Error {}

/** Its first bytes were not RFB's greeting. */
export class NotRfbError extends Error {}

export interface RfbProbe {
  /**
   * Connected and, with `verifyPeer`, checked: on a Unix socket the kernel names the process that
   * listens from the moment it listens, before that server has answered anything.
   */
  connected: Promise<void>;
  /** The server's greeting (its version), read on the same connection; rejects after `timeoutMs` from the start. */
  greeting: Promise<string>;
}

/**
 * probeRfb in two steps, for a start that need not wait for the greeting: a server still setting
 * itself up (Xvnc loading its fonts and keymap) already listens, and whoever connects meanwhile is
 * served once it is ready.
 */
export function openRfbProbe(endpoint: NetConnectOpts, timeoutMs = 2000, verifyPeer?: (socket: Socket) => void): RfbProbe {
  let onConnected: () => void = () => undefined;
  let onGreeting: (version: string) => void = () => undefined;
  let onFailed: (err: Error) => void = () => undefined;
  const connected = new Promise<void>((resolve, reject) => {
    onConnected = resolve;
    onFailed = reject;
  });
  const greeting = new Promise<string>((resolve, reject) => {
    onGreeting = resolve;
    const failConnected = onFailed;
    onFailed = (err) => {
      failConnected(err);
      reject(err);
    };
  });
  // Only one of them may be awaited: the other's rejection is the same failure.
  connected.catch(() => undefined);
  greeting.catch(() => undefined);
  // A cage's Xvnc may be hostile: on a Unix socket, nothing it sends may carry a descriptor.
  const sock = 'path' in endpoint && endpoint.path ? connectRefusingDescriptors(endpoint.path) : connect(endpoint);
  sock.once('connect', () => {
    try {
      verifyPeer?.(sock);
    } catch (err) {
      return finish(err as Error);
    }
    onConnected();
  });
  let got = Buffer.alloc(0);
  const timer = setTimeout(() => finish(new RfbSilentError('no RFB greeting within ' + timeoutMs + ' ms')), timeoutMs);
  let done = false;
  const finish = (err: Error | null, version?: string) => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    sock.destroy();
    if (err) onFailed(err);
    else onGreeting(version ?? '');
  };
  sock.on('data', (chunk: Buffer) => {
    got = Buffer.concat([got, chunk]);
    if (got.length >= 12) {
      const version = got.subarray(0, 12).toString('latin1');
      if (/^RFB \d{3}\.\d{3}\n$/.test(version)) finish(null, version.trim());
      else finish(new NotRfbError('endpoint did not answer with an RFB greeting'));
    }
  });
  sock.on('error', (e) => finish(e));
  sock.on('close', () => finish(new Error('endpoint closed before its RFB greeting')));
  return { connected, greeting };
}
