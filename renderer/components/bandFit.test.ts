import { describe, expect, it } from 'vitest';
import { FIT_STEPS, fitBand } from './bandFit';

/** A band as fitBand sees it: its attributes, and a content width that each step narrows. */
function fakeBand(widths: number[], room: number) {
  const attributes = new Set<string>();
  const band = {
    dataset: {} as Record<string, string>,
    toggleAttribute: (name: string, on: boolean) => (on ? attributes.add(name) : attributes.delete(name), on),
  };
  const overflowing = () => widths[Number(band.dataset.fit)]! > room;
  return { band: band as unknown as HTMLElement, attributes, overflowing };
}

describe('fitBand', () => {
  it('takes the first step at which the band fits, every step before it set', () => {
    const { band, attributes, overflowing } = fakeBand([1200, 1100, 1000, 900], 1024);
    expect(fitBand(band, overflowing)).toBe(2);
    expect([...attributes].sort()).toEqual(['data-fit1', 'data-fit2']);
  });

  it('gives its words back when room comes back (tries from the first step each time)', () => {
    const { band, attributes, overflowing } = fakeBand([1200, 1100, 1000, 900], 1024);
    fitBand(band, overflowing);
    const wide = fakeBand([1200, 1100, 1000, 900], 1920);
    expect(fitBand(band, wide.overflowing)).toBe(0);
    expect([...attributes]).toEqual([]);
  });

  it('stops at the last step when even that is too wide (the last step narrows what can narrow)', () => {
    const { band, attributes, overflowing } = fakeBand([3000, 3000, 3000, 3000], 1024);
    expect(fitBand(band, overflowing)).toBe(FIT_STEPS);
    expect(attributes.size).toBe(FIT_STEPS);
  });
});
