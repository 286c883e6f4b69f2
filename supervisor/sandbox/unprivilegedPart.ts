/**
 * How the root part starts an unprivileged part (the browser part, the sound part) and starts it
 * again; what the part then takes away from itself is partSelfRestriction.ts.
 */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { requireBinary } from '../system/binaries';

/**
 * The Node flags of the quiet parts (the cage manager, the cloison part, the sound part; start.mjs
 * and the units start the manager with the same, its code cache is written under them). V8's young
 * generation held to 1 MiB semi-spaces (Node's default lets each grow to 16 MiB, kept resident once
 * grown): the parts' objects are short messages, their bulk data in Buffers outside the heap. V8's
 * lite mode (no JIT compiler, bytecode interpreted, a heap tuned for size): the manager, the cloison
 * part and the sound part ~9, ~7 and ~3 MiB private dirty less, their CPU over a start unchanged
 * (bench/RESULTS.md, apps-memory). It turns WebAssembly off, which no part uses; --no-expose-wasm
 * says so, or V8 warns of it at each start.
 */
export const PART_NODE_FLAGS = ['--max-semi-space-size=1', '--lite-mode', '--no-expose-wasm'];

/**
 * The environment every Node part runs with (the cage manager and the root supervisor too: start.mjs
 * and both units set the same; deploy/packaging.test.ts keeps them in step). One glibc malloc arena:
 * each of a part's threads (V8's workers, libuv's pool) that allocates otherwise gets an arena of
 * its own, whose free pages stay resident between the parts' trims; the parts' threads allocate
 * little and rarely at once, so they lose nothing by sharing one (bench/RESULTS.md, apps-memory).
 */
export const PART_NODE_ENV: Readonly<Record<string, string>> = { MALLOC_ARENA_MAX: '1' };

/**
 * The browser part's: it relays both cages' pixels (the VNC gateway), where lite mode cost ~1.7x the
 * CPU per GiB relayed, at ~4–8 MiB saved (bench/RESULTS.md): V8's compiler kept.
 */
export const HOT_PART_NODE_FLAGS = ['--max-semi-space-size=1'];

/**
 * A part's command: its bundle beside the supervisor's (out/supervisor/<bundle>), or its source
 * through tsx when the supervisor runs from source (the tests); `callerUrl` is the starting
 * module's import.meta.url, beside which both are found. As root, under setpriv: no_new_privs,
 * nothing inheritable, and a bounding set that keeps only what its own drop needs (the user
 * change, and searching its folder before it is `cloison`'s).
 */
export function unprivilegedPartCommand(
  part: { callerUrl: string; source: string; bundle: string; script?: string; nodeFlags?: readonly string[] },
  asRoot: boolean,
): { command: string; args: string[] } {
  const here = fileURLToPath(part.callerUrl);
  const source = part.script ?? join(dirname(here), here.endsWith('.ts') ? part.source : part.bundle);
  const node = [process.execPath, ...(part.nodeFlags ?? PART_NODE_FLAGS), ...(source.endsWith('.ts') ? ['--import', 'tsx'] : []), source];
  if (!asRoot) return { command: node[0]!, args: node.slice(1) };
  return { command: requireBinary('setpriv'), args: ['--no-new-privs', '--inh-caps=-all', '--bounding-set=-all,+setuid,+setgid,+setpcap,+dac_override,+dac_read_search', '--', ...node] };
}

/**
 * Starts a part that ended again: at once the first time, then later and later while it keeps
 * ending (up to 10 s; forgiven after a minute without one), never once its owner is stopping; a start that
 * fails is tried again the same way.
 */
export class RestartBackoff {
  private restarts = 0;
  private lastRestart = 0;

  constructor(private readonly part: { start: () => Promise<void>; stopping: () => boolean; failed: (error: Error) => void }) {}

  restartLater(): void {
    // Forgiven only after a minute with no restart: a part that keeps ending stays at 10 s.
    if (Date.now() - this.lastRestart > 60_000) this.restarts = 0;
    this.lastRestart = Date.now();
    const delay = Math.min(10_000, this.restarts === 0 ? 0 : 250 * 2 ** Math.min(this.restarts, 6));
    this.restarts++;
    setTimeout(() => {
      if (this.part.stopping()) return;
      this.part.start().catch((err: Error) => {
        this.part.failed(err);
        if (!this.part.stopping()) this.restartLater();
      });
    }, delay).unref();
  }
}
