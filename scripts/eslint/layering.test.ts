/**
 * The layering rule, on fixtures: a supervisor room importing a room above it or beside it is
 * reported, as is a room with no layer; importing down, within the room, or from a test is not.
 * The top-level zones are still kept.
 */
import { join } from 'node:path';
import { Linter } from 'eslint';
import tseslint from 'typescript-eslint';
import { describe, expect, it } from 'vitest';
import layering from './layering.js';

const linter = new Linter({ configType: 'flat', cwd: process.cwd() });

/** The rule's messages for `code` as if it were the file at `path` (relative to the repository). */
function lint(path: string, code: string): string[] {
  const config = [{ files: ['**/*.ts'], languageOptions: { parser: tseslint.parser }, plugins: { cloison: { rules: { layering } } }, rules: { 'cloison/layering': 'error' as const } }];
  return linter.verify(code, config, { filename: join(process.cwd(), path) }).map((m) => m.message);
}

describe('supervisor rooms in layers', () => {
  it('reports a room importing a room above it', () => {
    expect(lint('supervisor/sandbox/bwrapSpawn.ts', "import { BwrapDriver } from '../cages/bwrapDriver';")).toEqual([
      'Bad layering: supervisor/sandbox/ may not import supervisor/cages/ (same layer or above): move what both need below them.',
    ]);
    expect(lint('supervisor/policy/policyLoader.ts', "import { readRecipientKey } from '../files/recipientKeys';")).toHaveLength(1);
  });

  it('reports a room importing one beside it, and one importing the wiring', () => {
    expect(lint('supervisor/audio/audioBroker.ts', "import type { FileBroker } from '../files/fileBroker';")).toHaveLength(1);
    expect(lint('supervisor/gateway/vncGateway.ts', "import { Supervisor } from '../supervisor';")).toEqual([
      'Bad layering: supervisor/gateway/ may not import supervisor/supervisor (same layer or above): move what both need below them.',
    ]);
  });

  it('reports a room that has no layer', () => {
    expect(lint('supervisor/newRoom/thing.ts', "import { findBinary } from '../system/binaries';")).toEqual([
      'Supervisor room newRoom/ has no layer: add it to SUPERVISOR_LAYERS in scripts/eslint/layering.js.',
    ]);
  });

  it('lets a room import below it and within itself, the wiring import every room, a test anything', () => {
    expect(lint('supervisor/cages/bwrapDriver.ts', "import { findBinary } from '../system/binaries';\nimport { cageSoundArgs } from './cageSound';")).toEqual([]);
    expect(lint('supervisor/supervisor.ts', "import { CageFleet } from './cages/cageFleet';")).toEqual([]);
    expect(lint('supervisor/system/binaries.test.ts', "import { startTestSupervisor } from '../testing/testSupervisor';")).toEqual([]);
  });

  it('still keeps the top-level zones', () => {
    expect(lint('shared/policy.ts', "import { findBinary } from '../supervisor/system/binaries';")).toEqual(['Bad layering: shared/ may not import supervisor/.']);
  });
});
