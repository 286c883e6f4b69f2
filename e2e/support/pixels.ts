/**
 * Reads pixels from a Playwright screenshot, for checks on what the shell really drew.
 */
import { PNG } from 'pngjs';

export type Rgb = [number, number, number];

export class Screenshot {
  private readonly png: PNG;
  constructor(buffer: Buffer) {
    this.png = PNG.sync.read(buffer);
  }

  get width(): number {
    return this.png.width;
  }

  get height(): number {
    return this.png.height;
  }

  at(x: number, y: number): Rgb {
    const o = (this.png.width * y + x) * 4;
    return [this.png.data[o]!, this.png.data[o + 1]!, this.png.data[o + 2]!];
  }

  /** Distinct colours in a rectangle, as #rrggbb strings. */
  coloursIn(x0: number, y0: number, x1: number, y1: number): Set<string> {
    const out = new Set<string>();
    for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) out.add(hex(this.at(x, y)));
    return out;
  }
}

export function hex([r, g, b]: Rgb): string {
  return '#' + [r, g, b].map((v) => v.toString(16).padStart(2, '0')).join('');
}
