/**
 * Test tool: a node program (its source, `node -e`) run as another account (setpriv as uid:gid, no
 * other groups), as a compromised part's own code would run; resolves with the JSON it printed.
 */
import { spawn } from 'node:child_process';

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
