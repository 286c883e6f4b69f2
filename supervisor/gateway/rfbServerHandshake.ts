/**
 * The server's side of an RFB 3.8 handshake with security None, for endpoints that stand where a
 * cage's Xvnc would (the gateway's warm-up, benchmarks, test cages): greet, answer the viewer's
 * version, security type and ClientInit in turn, then hand every later byte on.
 */
import type { Socket } from 'node:net';

/** A ServerInit: the screen's size, 32 bits per pixel true colour, and the desktop's name. */
export function serverInit(width: number, height: number, name = ''): Buffer {
  const init = Buffer.alloc(24 + Buffer.byteLength(name));
  init.writeUInt16BE(width, 0);
  init.writeUInt16BE(height, 2);
  init.set([32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0], 4);
  init.writeUInt32BE(Buffer.byteLength(name), 20);
  init.write(name, 24);
  return init;
}

/** Runs the handshake on `sock`; `ready` once the ServerInit is sent, `data` for every byte after. */
export function acceptRfbViewer(sock: Socket, init: Buffer, handlers: { ready?: () => void; data?: (bytes: Buffer) => void }): void {
  // The viewer's version (12 bytes), its security type (1), its ClientInit (1): each answered in turn.
  const steps = [
    { bytes: 12, reply: Buffer.from([1, 1]) }, // one security type: None
    { bytes: 1, reply: Buffer.alloc(4) }, // SecurityResult: OK
    { bytes: 1, reply: init },
  ];
  let step = 0;
  let got = 0;
  sock.write('RFB 003.008\n');
  sock.on('data', (data: Buffer) => {
    while (step < steps.length && data.length > 0) {
      const take = Math.min(data.length, steps[step]!.bytes - got);
      got += take;
      data = data.subarray(take);
      if (got < steps[step]!.bytes) break;
      sock.write(steps[step]!.reply);
      step++;
      got = 0;
      if (step === steps.length) handlers.ready?.();
    }
    if (data.length > 0 && step === steps.length) handlers.data?.(data);
  });
}
