/**
 * Back to the single supervisor after the split: the part's state is not taken back, and what the
 * start says names where it stays and why; said only when the single supervisor has none of its
 * own (it would then be going on with its own journal and phrase) and the part has some.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { testRoot } from '../testing/testRoots';
import { splitStateLeftBehind } from './splitStateLeftBehind';

describe('the split\'s state left behind by a single supervisor', () => {
  it('names the part\'s folder, its journal and why it stays, once the manager\'s folder has no journal of the root supervisor\'s', () => {
    const root = testRoot('cloison-sl-');
    const state = join(root, 'state');
    mkdirSync(join(state, 'cages'), { recursive: true });
    mkdirSync(join(`${state}-broker`, 'diode'), { recursive: true });
    writeFileSync(join(`${state}-broker`, 'audit.jsonl'), '');
    writeFileSync(join(`${state}-broker`, 'trust-phrase.json'), '{"phrase":"secret du part","symbol":null}');
    const said = splitStateLeftBehind(state);
    expect(said).toContain(`${state}-broker (audit.jsonl, trust-phrase.json, diode) is not taken back`);
    expect(said).toContain('asks for the trust phrase again');
    expect(said).toContain(`cloison audit verify --key ${join(`${state}-broker`, 'journal.key')} ${join(`${state}-broker`, 'audit.jsonl')}`);
    expect(said).not.toContain('secret du part');
    // Its own journal there: nothing to say (it goes on with it).
    writeFileSync(join(state, 'audit.jsonl'), '');
    expect(splitStateLeftBehind(state)).toBeNull();
  });

  it('nothing to say without the split\'s state', () => {
    const root = testRoot('cloison-sl-');
    mkdirSync(join(root, 'state'));
    expect(splitStateLeftBehind(join(root, 'state'))).toBeNull();
  });
});
