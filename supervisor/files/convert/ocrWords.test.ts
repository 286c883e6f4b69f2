/**
 * The strict reader of tesseract's TSV (ocrWords.ts): the shape tesseract writes gives its words;
 * every other shape is refused with the row at fault.
 */
import { describe, expect, it } from 'vitest';
import { OCR_MAX_BYTES, OcrOutputError, parseOcrTsv } from './ocrWords';

const HEADER = 'level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext';
const tsv = (...rows: string[]) => Buffer.from([HEADER, ...rows].join('\n'));
const word = (text: string, left = 10, top = 10, w = 50, h = 20, conf = '95.5') => `5\t1\t1\t1\t1\t1\t${left}\t${top}\t${w}\t${h}\t${conf}\t${text}`;

describe('parseOcrTsv', () => {
  it("reads tesseract's own output: words with their boxes, the structure rows skipped, accents kept (NFC)", () => {
    const out = tsv('1\t1\t0\t0\t0\t0\t0\t0\t1275\t1650\t-1\t', '4\t1\t1\t1\t1\t0\t155\t252\t540\t44\t-1\t', word('Données', 155, 252, 226, 44), word('e\u0301te\u0301', 618, 252, 77, 44), word(' ', 0, 0, 1, 1, '-1'));
    expect(parseOcrTsv(out, 1275, 1650)).toEqual([
      { text: 'Données', left: 155, top: 252, width: 226, height: 44 },
      { text: 'été', left: 618, top: 252, width: 77, height: 44 },
    ]);
  });

  it.each([
    ['over the byte limit', Buffer.alloc(OCR_MAX_BYTES + 1, 0x41), /bytes, over/],
    ['not UTF-8', Buffer.concat([tsv(word('a')), Buffer.from([0xff])]), /not UTF-8/],
    ['no header', Buffer.from(word('a')), /row 1: not the TSV header/],
    ['11 fields', tsv('5\t1\t1\t1\t1\t1\t0\t0\t10\t10\t90'), /row 2: 11 fields/],
    ['13 fields (a tab in a word)', tsv(word('a\tb')), /row 2: 13 fields/],
    ['a negative number', tsv(word('a', -1)), /row 2: a field that is not a small number/],
    ['a 7-digit number', tsv(word('a', 1_000_000)), /row 2: a field that is not a small number/],
    ['a confidence over 100', tsv(word('a', 0, 0, 5, 5, '250')), /row 2: a confidence/],
    ['a level out of range', tsv('6\t1\t1\t1\t1\t1\t0\t0\t1\t1\t90\tx'), /row 2: level 6/],
    ['a second page', tsv('5\t2\t1\t1\t1\t1\t0\t0\t1\t1\t90\tx'), /row 2: level 5 of page 2/],
    ['a box past the right edge', tsv(word('a', 990, 0, 11, 10)), /row 2: a box outside the page/],
    ['a box past the bottom', tsv(word('a', 0, 495, 10, 6)), /row 2: a box outside the page/],
    ['an empty box', tsv(word('a', 0, 0, 0, 10)), /row 2: an empty box/],
    ['text on a line row', tsv('4\t1\t1\t1\t1\t0\t0\t0\t10\t10\t-1\tsmuggled'), /row 2: text on a row/],
    ['a control character', tsv(word('a\u001bb')), /row 2: a word with an unprintable/],
    ['a bidi override', tsv(word('a\u202eb')), /row 2: a word with an unprintable/],
    ['a private-use character', tsv(word('a\ue000')), /row 2: a word with an unprintable/],
    ['a carriage return', tsv(word('a\rb')), /row 2: a word with an unprintable/],
    ['a word of 201 characters', tsv(word('x'.repeat(201))), /row 2: a word over 200/],
    ['20,001 words', tsv(...Array.from({ length: 20_001 }, () => word('a'))), /over 20000 words/],
  ])('refuses %s', (_what, input, reason) => {
    expect(() => parseOcrTsv(input, 1000, 500)).toThrow(OcrOutputError);
    expect(() => parseOcrTsv(input, 1000, 500)).toThrow(reason);
  });
});
