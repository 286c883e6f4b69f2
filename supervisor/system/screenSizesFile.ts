/**
 * A file of each level's last screen size (`{ "low": { "width": …, "height": … }, … }`), as the root
 * supervisor's cageScreens.ts and the cage manager's managerScreens.ts each keep one of their own.
 * Read leniently: a missing or damaged file, or an entry that is no size, is nothing remembered (the
 * policy's start size, then a resize). Written whole through a rename, never half.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { ScreenSize } from '../../shared/cageScreenSize';

export function readScreenSizes(file: string): Record<string, ScreenSize> {
  try {
    const read = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    const out: Record<string, ScreenSize> = {};
    for (const [level, size] of Object.entries(read && typeof read === 'object' ? read : {})) {
      const { width, height } = (size ?? {}) as Partial<ScreenSize>;
      if (Number.isInteger(width) && Number.isInteger(height) && width! > 0 && height! > 0) out[level] = { width: width!, height: height! };
    }
    return out;
  } catch {
    return {}; // none yet (the first start), or damaged
  }
}

/** Sets one level's size in the file; throws what the write met (the caller logs it). */
export function writeScreenSize(file: string, level: string, size: ScreenSize): void {
  const next = `${file}.next`;
  writeFileSync(next, JSON.stringify({ ...readScreenSizes(file), [level]: size }), { mode: 0o600 });
  renameSync(next, file);
}
