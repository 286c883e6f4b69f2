/**
 * Puts a server on a Unix socket path that only its intended users can open: root alone (0600),
 * or root and one group (0660) — the kiosk users for the shell's socket, the administrators for
 * the admin socket. A stale socket file from a killed run is replaced. No peer may pass it a
 * descriptor (refusePassedDescriptors.ts).
 */
import { chmodSync, chownSync, rmSync } from 'node:fs';
import type { Server } from 'node:net';
import { refusePassedDescriptorsOrSay } from './refusePassedDescriptors';

export function listenRestricted(server: Server, path: string, group?: number): Promise<Server> {
  rmSync(path, { force: true });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      // Before the mode lets anyone but root connect.
      refusePassedDescriptorsOrSay(server);
      if (group !== undefined) {
        chownSync(path, 0, group);
        chmodSync(path, 0o660);
      } else chmodSync(path, 0o600);
      resolve(server);
    });
  });
}
