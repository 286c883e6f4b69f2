/**
 * The cages' own X clipboards, as the broker sees them: bwrap cages through the X helper; external
 * `vnc` cages have no clipboard the supervisor can reach.
 *
 * X apps copy in two places: an explicit Copy goes to CLIPBOARD, a plain selection (xterm, xedit and
 * every Xaw app) only to PRIMARY. Copy takes CLIPBOARD and falls back on PRIMARY when CLIPBOARD is
 * empty or still holds the broker's own last paste (then the cage has copied nothing itself since);
 * the result says which it took. A paste fills both, so Ctrl+V, Shift+Insert and middle click all
 * find it: one serving helper per selection per cage at most.
 *
 * The X tools are the root supervisor's own by default; the `cloison` part gives the cage manager's
 * (cageXTools.ts, cageManager/remoteXTools.ts).
 */
import type { CageDriver } from '../cages/cageDriver';
import type { CageClipboards } from './clipboardBroker';
import { localCageSelections, type CageSelectionTools } from './cageXTools';
import type { ReadResult, SelectionServer, XSelectionName } from './xSelection';

const SELECTIONS: readonly XSelectionName[] = ['clipboard', 'primary'];

export class XCageClipboards implements CageClipboards {
  private readonly servers = new Map<string, Map<XSelectionName, SelectionServer>>();

  private readonly tools: CageSelectionTools;

  constructor(driverOf: (level: string) => CageDriver | undefined, isRunning: (level: string) => boolean, tools?: CageSelectionTools) {
    this.tools = tools ?? localCageSelections(driverOf, isRunning);
  }

  async read(level: string, maxBytes: number): Promise<ReadResult> {
    this.check(level);
    const ours = this.servers.get(level)?.get('clipboard')?.owned === true;
    if (!ours) {
      const clipboard = await this.tools.readSelection(level, maxBytes, 'clipboard');
      if (clipboard.kind !== 'empty') return clipboard;
    }
    const primary = await this.tools.readSelection(level, maxBytes, 'primary');
    if (primary.kind !== 'empty' || !ours) return primary;
    // Both selections still hold the last paste: it is what the cage has.
    return this.tools.readSelection(level, maxBytes, 'clipboard');
  }

  async write(level: string, text: string): Promise<void> {
    this.check(level);
    this.stopServing(level);
    // Both at once (each helper proves itself for 300 ms); one that fails takes the other down.
    const started = await Promise.allSettled(SELECTIONS.map((selection) => this.tools.serveSelection(level, text, selection)));
    const failed = started.find((r) => r.status === 'rejected');
    if (failed) {
      for (const r of started) if (r.status === 'fulfilled') r.value.stop();
      throw failed.reason;
    }
    this.servers.set(level, new Map(SELECTIONS.map((selection, i) => [selection, (started[i] as PromiseFulfilledResult<SelectionServer>).value])));
  }

  dispose(): void {
    for (const level of [...this.servers.keys()]) this.stopServing(level);
  }

  private stopServing(level: string): void {
    for (const server of this.servers.get(level)?.values() ?? []) server.stop();
    this.servers.delete(level);
  }

  /** An external vnc cage, or one not running: refused before anything is stopped or run. */
  private check(level: string): void {
    const why = this.tools.unreachable(level);
    if (why) throw why;
  }
}
