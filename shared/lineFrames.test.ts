import { describe, expect, it } from 'vitest';
import { LineFrames } from './lineFrames';

describe('line frames', () => {
  it('returns whole lines across chunks and keeps the tail', () => {
    const f = new LineFrames();
    expect(f.push('{"a":1}\n{"b"')).toEqual(['{"a":1}']);
    expect(f.pendingLength).toBe(4);
    expect(f.push(':2}\n\n{"c":3}\n')).toEqual(['{"b":2}', '{"c":3}']);
    expect(f.push('tail')).toEqual([]);
    expect(f.takePending()).toBe('tail');
    expect(f.pendingLength).toBe(0);
  });
});
