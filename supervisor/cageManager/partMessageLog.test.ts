import { describe, expect, it } from 'vitest';
import { partFailedLine } from './partAnnouncement';
import { PartMessageLog } from './partMessageLog';

describe('PartMessageLog', () => {
  it('says the first lines of a window, then one line that more are dropped, then their count when the next window opens', () => {
    let now = 0;
    const said: Array<{ msg: string; fields?: Record<string, unknown> }> = [];
    const log = new PartMessageLog((msg, fields) => said.push({ msg, ...(fields ? { fields } : {}) }), { lines: 3, windowMs: 1000 }, () => now);
    for (let i = 0; i < 1000; i++) log.log('cloison part: message not acted on', { type: 'noise' });
    expect(said.map((s) => s.msg)).toEqual([
      'cloison part: message not acted on',
      'cloison part: message not acted on',
      'cloison part: message not acted on',
      'cloison part: more lines about its messages are dropped until the window ends',
    ]);
    now = 1000;
    log.log('cloison part: announcement refused', { reason: 'no such state' });
    expect(said.slice(4)).toEqual([
      { msg: 'cloison part: lines about its messages dropped', fields: { dropped: 997, windowMs: 1000 } },
      { msg: 'cloison part: announcement refused', fields: { reason: 'no such state' } },
    ]);
  });
});

describe('partFailedLine', () => {
  it('keeps the part\'s words, escapes what a terminal would act on, bounds the reason', () => {
    const line = JSON.parse(partFailedLine('could not start: \u001b]52;c;cm0K\u0007\u001b[2K\rcage high: running\u202e')) as { partFailed: boolean; reason: string };
    expect(line.partFailed).toBe(true);
    expect(line.reason).toBe('could not start: \\x1b]52;c;cm0K\\x07\\x1b[2K\\x0dcage high: running\\u202e');
    expect(JSON.parse(partFailedLine('x'.repeat(5000))).reason).toHaveLength(500);
  });
});
