/**
 * A connection to a cage's VNC socket, paused from its 'connect' on: not one byte is read on this
 * side, so the RFB greeting waits in the socket for whoever it is handed to (the gateway).
 */
import { connect, type Socket } from 'node:net';
import { connectRefusingDescriptors } from '../system/refusePassedDescriptors';
import type { RunningCage } from './cageDriver';

export function connectPaused(cage: RunningCage, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    // The cage's Xvnc may be hostile: a descriptor it passed would be closed in the thread of
    // whoever reads (the browser part's gateway, serving both levels' viewers).
    const { endpoint } = cage;
    const socket = 'path' in endpoint && endpoint.path ? connectRefusingDescriptors(endpoint.path, { paused: true, itself: true }) : connect(endpoint);
    const timer = setTimeout(() => fail(new Error(`the cage's VNC socket did not answer within ${timeoutMs} ms`)), timeoutMs);
    const fail = (err: Error) => {
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    socket.once('error', fail);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.off('error', fail);
      socket.pause();
      resolve(socket);
    });
  });
}
