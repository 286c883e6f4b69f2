/**
 * Checks that an endpoint speaks RFB: connect, read the 12-byte ProtocolVersion, hang up. With
 * `verifyPeer`, the peer is checked on connection, before anything is read.
 */
import { connect, type NetConnectOpts, type Socket } from 'node:net';
import { connectRefusingDescriptors } from '../system/refusePassedDescriptors';

export function probeRfb(endpoint: NetConnectOpts, timeoutMs = 2000, verifyPeer?: (socket: Socket) => void): Promise<string> {
  return new Promise((resolve, reject) => {
    // A cage's Xvnc may be hostile: on a Unix socket, nothing it sends may carry a descriptor.
    const sock = 'path' in endpoint && endpoint.path ? connectRefusingDescriptors(endpoint.path, { itself: true }) : connect(endpoint);
    if (verifyPeer) {
      sock.once('connect', () => {
        try {
          verifyPeer(sock);
        } catch (err) {
          finish(err as Error);
        }
      });
    }
    let got = Buffer.alloc(0);
    const timer = setTimeout(() => finish(new Error('no RFB greeting within ' + timeoutMs + ' ms')), timeoutMs);
    const finish = (err: Error | null, version?: string) => {
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(version ?? '');
    };
    sock.on('data', (chunk: Buffer) => {
      got = Buffer.concat([got, chunk]);
      if (got.length >= 12) {
        const version = got.subarray(0, 12).toString('latin1');
        if (/^RFB \d{3}\.\d{3}\n$/.test(version)) finish(null, version.trim());
        else finish(new Error('endpoint did not answer with an RFB greeting'));
      }
    });
    sock.on('error', (e) => finish(e));
    sock.on('close', () => finish(new Error('endpoint closed before its RFB greeting')));
  });
}
