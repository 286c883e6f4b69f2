/**
 * Test tool: a `cloison` part the test drives by commands, against a served manager
 * (managerServedToCloison.ts). The part script listens on a command socket in a folder of its own
 * (the account's, 0700) and says `listening`; the test then asks one command at a time, a JSON
 * line each way, each answer matched to its ask by id — as the shell, or a compromised part, acts.
 */
import { chmodSync, chownSync, mkdtempSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { CloisonPartMessage } from '../cageManager/cloisonPart';
import type { ServedManager } from './managerServedToCloison';

export interface CommandedPart<Reply> {
  /** What the part said as it began listening. */
  listening: CloisonPartMessage;
  ask(command: Record<string, unknown>): Promise<Reply>;
  /** Closes the command socket (the part stops with the manager, or by stopPart). */
  close(): void;
}

/** `start` is told the part's own folder; the part is also told the manager's socket and its command socket. */
export async function commandedPart<Reply>(manager: ServedManager, script: string, start: (ownDir: string) => Record<string, unknown> = () => ({})): Promise<CommandedPart<Reply>> {
  const ownDir = mkdtempSync(join(manager.root, 'part-'));
  chownSync(ownDir, manager.cloison.uid, manager.cloison.gid);
  chmodSync(ownDir, 0o700);
  const commandSocket = join(ownDir, 'commands.sock');
  const listening = await manager.runPart(script, { managerSocket: manager.socketPath, commandSocket, ...start(ownDir) }, { until: (m) => m.type === 'listening' });
  const commands: Socket = connect(commandSocket);
  const replies = new Map<number, (reply: Reply) => void>();
  let nextId = 1;
  createInterface({ input: commands }).on('line', (line) => {
    const reply = JSON.parse(line) as Reply & { id: number };
    replies.get(reply.id)?.(reply);
    replies.delete(reply.id);
  });
  return {
    listening,
    ask: (command) => {
      const id = nextId++;
      return new Promise((resolve) => {
        replies.set(id, resolve);
        commands.write(`${JSON.stringify({ id, ...command })}\n`);
      });
    },
    close: () => commands.destroy(),
  };
}
