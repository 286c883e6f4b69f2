/**
 * Root's connection to a level's proxy socket (`proxy/pkcs11.sock`). pkcs11proxyd binds it as the
 * proxy uid, so it lives in a folder that uid owns — and a process of that uid (a worker a cage's
 * bytes took over) may put anything at that name: a link to systemd's private socket or the system
 * bus, which root's connect() by path would follow with root's rights, the cage's bytes after it.
 *
 * So root never connects by that path: it opens the name itself (O_PATH|O_NOFOLLOW: a link is
 * opened as a link, nothing is followed or opened for reading, a FIFO or device is not touched),
 * checks that what it holds is a socket the proxy uid bound (its inode the uid's: a hard link to a
 * socket of root's or another account's is not), and connects to that very inode through
 * /proc/self/fd. Once connected, before a byte goes either way, the listener must be the proxy uid
 * (SO_PEERCRED): the server at that inode is a process of the level's proxy, nobody else's.
 */
import type { Socket } from 'node:net';
import { peerCredentials } from '../sandbox/peerCredentials';
import { connectRefusingDescriptors } from '../system/refusePassedDescriptors';

/**
 * A connection to the proxy's socket at `path`, refusing descriptors; rejects when the name is not
 * a socket of `proxyUid`'s or its listener is not that uid. `paused`: nothing is read from it.
 */
export function connectToProxySocket(path: string, proxyUid: number, options: { paused?: boolean } = {}): Promise<Socket> {
  // The name opened as itself, a socket inode of the proxy uid's, connected through its descriptor.
  const socket = connectRefusingDescriptors(path, { ...options, itself: true, owner: proxyUid });
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.off('error', reject);
      let uid: number;
      try {
        uid = peerCredentials(socket).uid;
      } catch (err) {
        socket.destroy();
        return reject(err as Error);
      }
      if (uid !== proxyUid) {
        socket.destroy();
        return reject(new Error(`${path}'s listener is uid ${uid}, not the proxy's (${proxyUid}): connection closed unused`));
      }
      resolve(socket);
    });
  });
}
