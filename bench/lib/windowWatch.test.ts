import { describe, expect, it } from 'vitest';
import { levelOfBorder } from './windowWatch';

const colours = { low: '#1b7f3b', high: '#b3261e' };

describe('levelOfBorder', () => {
  it('names the level whose colour the frame border shows', () => {
    expect(levelOfBorder([27, 127, 59], colours)).toBe('low');
    expect(levelOfBorder([179, 38, 30], colours)).toBe('high');
    expect(levelOfBorder([185, 30, 40], colours)).toBe('high'); // a little off (scaling, dithering)
  });

  it('names none for the launch page, the dark stage or a dialog', () => {
    for (const pixel of [[255, 255, 255], [17, 17, 17], [34, 34, 34], [0, 0, 0]]) expect(levelOfBorder(pixel, colours)).toBeNull();
  });
});
