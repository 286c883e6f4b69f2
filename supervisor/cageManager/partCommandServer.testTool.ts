/**
 * Test tool, the part's side of testing/commandedPart.ts (here, beside the part scripts that use it:
 * the manager's room may not import the test helpers'): in a test's part script, the command socket
 * served — each JSON line a command `run` carries out, answered by a JSON line with its id: its
 * result, or the error's message and code (a CloisonError's) — `listening` called once it listens.
 */
import { createServer, type Server } from 'node:net';
import { createInterface } from 'node:readline';
import type { CloisonError } from '../../shared/errors';

export function serveCommands<Command extends { id: number }>(socketPath: string, run: (command: Command) => Promise<unknown>, listening: () => void): Server {
  const server = createServer((socket) => {
    createInterface({ input: socket }).on('line', (line) => {
      const c = JSON.parse(line) as Command;
      run(c).then(
        (result) => socket.write(`${JSON.stringify({ id: c.id, ok: true, result })}\n`),
        (err: unknown) => socket.write(`${JSON.stringify({ id: c.id, ok: false, error: String((err as Error).message), code: (err as CloisonError).code ?? null })}\n`),
      );
    });
  });
  return server.listen(socketPath, listening);
}
