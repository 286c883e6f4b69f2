/**
 * Test tool: a cage's X socket folder whose X0 is taken by a server that accepts and never answers,
 * as a cage's Xvnc stopped by the cage itself looks from outside (the kernel still takes connections).
 */
import { chmodSync, mkdirSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';

export interface HungXServer {
  /** The folder, to serve as the level's X socket folder. */
  dir: string;
  close(): void;
}

export async function hungXServer(dir: string): Promise<HungXServer> {
  mkdirSync(dir, { mode: 0o755 });
  const held: Socket[] = [];
  const server = createServer((s) => void held.push(s));
  await new Promise<void>((r) => server.listen(join(dir, 'X0'), () => r()));
  chmodSync(join(dir, 'X0'), 0o777);
  return {
    dir,
    close: () => {
      for (const s of held) s.destroy();
      server.close();
    },
  };
}
