/**
 * The cages' own X clipboards, as the broker sees them: bwrap cages through the X helper (one
 * serving helper per cage at most); external `vnc` cages have no clipboard the supervisor can reach.
 */
import { CloisonError } from '../../shared/errors';
import type { CageDriver } from '../cages/cageDriver';
import { BwrapDriver } from '../cages/bwrapDriver';
import type { CageClipboards } from './clipboardBroker';
import { readSelection, writeSelection } from './xSelection';

export class XCageClipboards implements CageClipboards {
  private readonly servers = new Map<string, { stop(): void }>();

  constructor(
    private readonly driverOf: (level: string) => CageDriver | undefined,
    private readonly isRunning: (level: string) => boolean,
  ) {}

  read(level: string, maxBytes: number) {
    return readSelection(this.x11DirOf(level), maxBytes);
  }

  async write(level: string, text: string): Promise<void> {
    const dir = this.x11DirOf(level);
    this.servers.get(level)?.stop();
    this.servers.delete(level);
    this.servers.set(level, await writeSelection(dir, text));
  }

  dispose(): void {
    for (const s of this.servers.values()) s.stop();
    this.servers.clear();
  }

  private x11DirOf(level: string): string {
    const driver = this.driverOf(level);
    if (!(driver instanceof BwrapDriver)) throw new CloisonError('CAGE_UNAVAILABLE', `cage "${level}" is an external VNC endpoint: it has no brokered clipboard`);
    if (!this.isRunning(level)) throw new CloisonError('CAGE_UNAVAILABLE', `cage "${level}" is not running`);
    return driver.x11Dir;
  }
}
