/**
 * Test tool: a process of another account (setpriv as uid:gid) that connects to a Unix socket,
 * writes length-prefixed JSON frames — or raw bytes — and reports what came back: the replies,
 * whether the other end closed, or the connect error (EACCES). It speaks the wire format with its own
 * few lines, as a compromised process would, not through the project's client.
 */
import { execFile } from 'node:child_process';

export type RawFrame = { json: unknown } | { bytes: string /* base64 */ };
export interface RawOutcome {
  replies: unknown[];
  closed: boolean;
  error: string | null;
}

const ATTACKER = `
const net = require('net');
const [path, framesJson] = process.argv.slice(1);
const out = { replies: [], closed: false, error: null };
const s = net.connect(path);
let buf = Buffer.alloc(0);
const done = () => { process.stdout.write(JSON.stringify(out)); process.exit(0); };
s.on('error', (e) => { out.error = e.code || e.message; });
// The other end closing first shows as a reset, or as a broken pipe to what this side still wrote.
s.on('close', () => { out.closed = out.error === null || out.error === 'ECONNRESET' || out.error === 'EPIPE'; done(); });
s.on('data', (d) => {
  buf = Buffer.concat([buf, d]);
  while (buf.length >= 4 && buf.length >= 4 + buf.readUInt32BE(0)) {
    const n = buf.readUInt32BE(0);
    out.replies.push(JSON.parse(buf.subarray(4, 4 + n).toString()));
    buf = buf.subarray(4 + n);
  }
  if (out.replies.length >= expected) done();
});
const frames = JSON.parse(framesJson);
const expected = frames.filter((f) => 'json' in f).length;
s.on('connect', () => {
  for (const f of frames) {
    if ('bytes' in f) { s.write(Buffer.from(f.bytes, 'base64')); continue; }
    const body = Buffer.from(JSON.stringify(f.json));
    const head = Buffer.alloc(4); head.writeUInt32BE(body.length);
    s.write(Buffer.concat([head, body]));
  }
});
setTimeout(done, 10_000);
`;

export function sendFramesAs(who: { uid: number; gid: number }, socketPath: string, frames: RawFrame[]): Promise<RawOutcome> {
  return new Promise((resolve, reject) => {
    execFile('setpriv', ['--reuid', String(who.uid), '--regid', String(who.gid), '--clear-groups', '--', process.execPath, '-e', ATTACKER, socketPath, JSON.stringify(frames)], { timeout: 20_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`attacker as uid ${who.uid} failed: ${err.message} ${stderr}`));
      else resolve(JSON.parse(stdout) as RawOutcome);
    });
  });
}
