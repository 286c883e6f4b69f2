/**
 * The cage manager starts each cage's Xvnc at the size it last set for the part (split): only an
 * output switch to one of the supervisor's modes that succeeded counts, and at the next start the
 * size is bounded by the policy as it is then; anything else is the policy's start size.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Policy } from '../../shared/policy';
import { ManagerScreens } from './managerScreens';

const policyOf = (cage: string) => ({ levels: [{ id: 'low', colour: '#1b7f3b', cage: JSON.parse(cage) }] }) as unknown as Policy;
const AUTO = policyOf('{ "driver": "bwrap", "geometry": "auto", "maxGeometry": "1600x1000" }');

describe('the cage manager\'s remembered screen sizes', () => {
  let dir = '';
  beforeAll(() => void (dir = mkdtempSync(join(tmpdir(), 'cloison-mscreens-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('remembers the size set, for the next start', () => {
    const file = join(dir, 'switch.json');
    const screens = new ManagerScreens(file);
    expect(screens.startSize(AUTO, 'low')).toBeNull();
    screens.set('low', { width: 1268, height: 718 });
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ low: { width: 1268, height: 718 } });
    expect(new ManagerScreens(file).startSize(AUTO, 'low')).toEqual({ width: 1268, height: 718 });
  });

  it('is bounded by the policy at the start, and only for an auto bwrap cage', () => {
    const file = join(dir, 'bounded.json');
    new ManagerScreens(file).set('low', { width: 1400, height: 900 });
    expect(new ManagerScreens(file).startSize(policyOf('{ "driver": "bwrap", "geometry": "auto", "maxGeometry": "700x900" }'), 'low')).toEqual({ width: 700, height: 450 });
    expect(new ManagerScreens(file).startSize(policyOf('{ "driver": "bwrap", "geometry": "1024x640" }'), 'low')).toBeNull();
    expect(new ManagerScreens(file).startSize(AUTO, 'high')).toBeNull();
  });

  it('a damaged file is the policy\'s start size, never an error or a size out of bounds', () => {
    const file = join(dir, 'damaged.json');
    for (const text of ['{', '[1,2]', '{"low":{"width":-5,"height":600}}', '{"low":{"width":"1e9","height":600}}', '{"low":null}']) {
      writeFileSync(file, text);
      expect(new ManagerScreens(file).startSize(AUTO, 'low')).toBeNull();
    }
    writeFileSync(file, '{"low":{"width":100000,"height":50000}}');
    expect(new ManagerScreens(file).startSize(AUTO, 'low')).toEqual({ width: 1600, height: 800 });
  });
});
