/**
 * The `convert` decision in the policy: the embedded default converts what goes up, a pair can
 * override the limits field by field, and a bad limit is refused with its place in the file.
 */
import { describe, expect, it } from 'vitest';
import { directionBetween, fileRuleFor } from '../../../shared/policy';
import { DEFAULT_POLICY_YAML } from '../../policy/defaultPolicy';
import { parsePolicy } from '../../policy/policyLoader';
import { bwrapCage, twoLevelPolicy } from '../../testing/testPolicy';

const levels = { low: bwrapCage({ uid: 58605 }), high: bwrapCage({ uid: 58606 }) };

describe('policy: files decision convert', () => {
  it('the embedded default converts up, with the reference limits', () => {
    const p = parsePolicy(DEFAULT_POLICY_YAML, 'default');
    const [low, high] = [p.levels[0]!, p.levels[1]!];
    expect(directionBetween(low, high)).toBe('up');
    expect(fileRuleFor(p, low, high)).toMatchObject({ decision: 'convert', convert: { dpi: 150, maxPages: 500, maxPagePixels: 10_000, secondsPerPage: 30, ocr: false } });
    expect(fileRuleFor(p, high, low).decision).toBe('deny');
  });

  it('a pair overrides the limits', () => {
    const p = parsePolicy(twoLevelPolicy(levels, 'files:\n  up: { decision: convert }\n  pairs:\n    - { from: low, to: high, convert: { dpi: 100, maxPages: 20 } }\n'), 'p.yaml');
    expect(fileRuleFor(p, p.levels[0]!, p.levels[1]!)).toMatchObject({ decision: 'convert', convert: { dpi: 100, maxPages: 20, maxPagePixels: 10_000 } });
  });

  it('a bad limit is refused with its place', () => {
    expect(() => parsePolicy(twoLevelPolicy(levels, 'files:\n  up:\n    decision: convert\n    convert: { dpi: 5000 }\n'), 'p.yaml')).toThrow(/p\.yaml:\d+:\d+: files\.up\.convert\.dpi/);
    expect(() => parsePolicy(twoLevelPolicy(levels, 'files:\n  up:\n    decision: convert\n    convert: { colour: true }\n'), 'p.yaml')).toThrow(/p\.yaml:\d+:\d+: files\.up\.convert/);
  });

  it('OCR is off by default, on with French and English, or in the languages given; an unknown language is refused with its place', () => {
    const p = parsePolicy(twoLevelPolicy(levels, 'files:\n  up:\n    decision: convert\n    convert: { ocr: true }\n  pairs:\n    - { from: high, to: low, decision: convert, convert: { ocr: true, ocrLanguages: [eng] } }\n'), 'p.yaml');
    expect(fileRuleFor(p, p.levels[0]!, p.levels[1]!).convert).toMatchObject({ ocr: true, ocrLanguages: ['fra', 'eng'] });
    expect(fileRuleFor(p, p.levels[1]!, p.levels[0]!).convert).toMatchObject({ ocr: true, ocrLanguages: ['eng'] });
    expect(() => parsePolicy(twoLevelPolicy(levels, 'files:\n  up:\n    decision: convert\n    convert:\n      ocr: true\n      ocrLanguages: [fra, deu]\n'), 'p.yaml')).toThrow(/p\.yaml:\d+:27: files\.up\.convert\.ocrLanguages\[1\]: must be one of "fra", "eng"/);
    expect(() => parsePolicy(twoLevelPolicy(levels, 'files:\n  up:\n    decision: convert\n    convert: { ocr: yes please }\n'), 'p.yaml')).toThrow(/p\.yaml:\d+:\d+: files\.up\.convert\.ocr/);
  });
});
