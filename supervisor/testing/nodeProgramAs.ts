/**
 * Test tool: a node program (its source, `node -e`) run as another account (setpriv as uid:gid, no
 * other groups), as a compromised part's own code would run; resolves with the JSON it printed.
 */
import { spawn } from 'node:child_process';

/**
 * The first lines of such a program that speaks the manager's wire format with its own few lines,
 * as a compromised part would: `frame(id, request)`, a length-prefixed JSON frame;
 * `framedConnection(path, reply, failed)`, a connection whose every whole frame received is parsed
 * and given to `reply`, its error to `failed`.
 */
export const FRAMED_CONNECTION_SOURCE = `
const net = require('net');
const frame = (id, request) => { const b = Buffer.from(JSON.stringify({ id, request })); const h = Buffer.alloc(4); h.writeUInt32BE(b.length); return Buffer.concat([h, b]); };
const framedConnection = (path, reply, failed) => {
  let buf = Buffer.alloc(0);
  const s = net.connect(path);
  s.on('error', failed);
  s.on('data', (d) => {
    buf = Buffer.concat([buf, d]);
    while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
      const r = JSON.parse(buf.subarray(4, 4 + buf.readUInt32BE(0)).toString());
      buf = buf.subarray(4 + buf.readUInt32BE(0));
      reply(r);
    }
  });
  return s;
};
`;

export function nodeProgramAs<T>(account: { uid: number; gid: number }, source: string, args: string[], what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn('setpriv', [`--reuid=${account.uid}`, `--regid=${account.gid}`, '--clear-groups', '--', process.execPath, '-e', source, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('exit', () => {
      try {
        resolve(JSON.parse(out) as T);
      } catch {
        reject(new Error(`${what} printed ${JSON.stringify(out.slice(0, 300))}`));
      }
    });
  });
}
