/**
 * The cages' own X clipboards, as the broker sees them: bwrap cages through the X helper; external
 * `vnc` cages have no clipboard the supervisor can reach.
 *
 * X apps copy in two places: an explicit Copy goes to CLIPBOARD, a plain selection (xterm, xedit and
 * every Xaw app) only to PRIMARY. Copy takes CLIPBOARD and falls back on PRIMARY when CLIPBOARD is
 * empty or still holds the broker's own last paste (then the cage has copied nothing itself since);
 * the result says which it took. A paste fills both, so Ctrl+V, Shift+Insert and middle click all
 * find it: one serving helper per selection per cage at most.
 */
import { bilingual } from '../../shared/bilingual';
import { CloisonError } from '../../shared/errors';
import type { CageDriver } from '../cages/cageDriver';
import { BwrapDriver } from '../cages/bwrapDriver';
import type { CageClipboards } from './clipboardBroker';
import { readSelection, writeSelection, type ReadResult, type SelectionServer, type XSelectionName } from './xSelection';

const SELECTIONS: readonly XSelectionName[] = ['clipboard', 'primary'];

export class XCageClipboards implements CageClipboards {
  private readonly servers = new Map<string, Map<XSelectionName, SelectionServer>>();

  constructor(
    private readonly driverOf: (level: string) => CageDriver | undefined,
    private readonly isRunning: (level: string) => boolean,
  ) {}

  async read(level: string, maxBytes: number): Promise<ReadResult> {
    const dir = this.x11DirOf(level);
    const ours = this.servers.get(level)?.get('clipboard')?.owned === true;
    if (!ours) {
      const clipboard = await readSelection(dir, maxBytes, undefined, 'clipboard');
      if (clipboard.kind !== 'empty') return clipboard;
    }
    const primary = await readSelection(dir, maxBytes, undefined, 'primary');
    if (primary.kind !== 'empty' || !ours) return primary;
    // Both selections still hold the last paste: it is what the cage has.
    return readSelection(dir, maxBytes, undefined, 'clipboard');
  }

  async write(level: string, text: string): Promise<void> {
    const dir = this.x11DirOf(level);
    this.stopServing(level);
    // Both at once (each helper proves itself for 300 ms); one that fails takes the other down.
    const started = await Promise.allSettled(SELECTIONS.map((selection) => writeSelection(dir, text, selection)));
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

  private x11DirOf(level: string): string {
    const driver = this.driverOf(level);
    if (!(driver instanceof BwrapDriver)) throw new CloisonError('CAGE_UNAVAILABLE', bilingual(`la cage « ${level} » est un serveur VNC externe : elle n’a pas de presse-papiers contrôlé`, `cage "${level}" is an external VNC endpoint: it has no brokered clipboard`));
    if (!this.isRunning(level)) throw new CloisonError('CAGE_UNAVAILABLE', bilingual(`la cage « ${level} » n’est pas en service`, `cage "${level}" is not running`));
    return driver.x11Dir;
  }
}
