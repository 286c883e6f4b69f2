/**
 * A level's card proxy uid (and its gid, the same number) must be nobody's: the policy's reading
 * refuses, with its place, a uid an account has and a gid number a group has — asked of the host's
 * name service for real — and a name service that gives no answer (proxyUidAccount.attack.test.ts:
 * the workstation user's own uid).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parsePolicy, readPolicyFile } from './policyLoader';
import { standInNameServiceIds } from '../system/accounts';
import { skipWithReason } from '../testing/skipWithReason';
import { policyRefusal } from '../testing/policyRefusal';

const LEVELS = `levels:
  - { id: low, rank: 0, label: { fr: Bas, en: Low }, colour: "#00aa00", cage: { driver: bwrap } }
  - { id: high, rank: 1, label: { fr: Haut, en: High }, colour: "#aa0000", cage: { driver: bwrap } }
`;
const withHighUid = (uid: number) => `version: 1\n${LEVELS}smartcard:\n  levels:\n    low: { objects: [a] }\n    high: { objects: [b], uid: ${uid} }\n`;

const refusal = policyRefusal;

const known = (database: 'passwd' | 'group', id: number) => {
  try {
    execFileSync('getent', [database, String(id)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

/** An id systemd leaves unused (60900–60999, clear of the defaults) that neither an account nor a group has. */
function freeId(): number | null {
  for (let id = 60900 + Math.floor(Math.random() * 50); id < 61000; id++) if (!known('passwd', id) && !known('group', id)) return id;
  return null;
}

describe("a level's card proxy uid", () => {
  it('is taken when no account and no group has it', () => {
    const id = freeId();
    expect(id).not.toBeNull();
    expect(refusal(withHighUid(id!))).toBeNull();
  });

  it("is refused when it is, as the proxy's gid, a group's number", (ctx) => {
    if (process.getuid?.() !== 0) return skipWithReason(ctx, 'making a group takes root');
    const id = freeId();
    if (id === null) return skipWithReason(ctx, 'no free id between 60900 and 60999');
    const name = `cltcg${randomBytes(4).toString('hex')}`;
    execFileSync('groupadd', ['--gid', String(id), name]);
    try {
      expect(refusal(withHighUid(id))).toMatch(new RegExp(`policy\\.yaml:8:\\d+: smartcard\\.levels\\.high\\.uid: uid ${id} is, as the proxy's gid, the ${name} group's`));
    } finally {
      execFileSync('groupdel', [name]);
    }
  });

  it("is refused at every reading of the file (the manager's load, a reload, the CLI's check); the part, which runs only the text the manager checked, does not ask again", (ctx) => {
    const person = readFileSync('/etc/passwd', 'utf8').split('\n').map((line) => line.split(':')).find(([name, , uid]) => name && Number(uid) >= 1000 && Number(uid) <= 65533);
    if (!person) return skipWithReason(ctx, 'no account with a uid between 1000 and 65533 on this host');
    const [name, , uid] = person;
    const text = withHighUid(Number(uid));
    const said = new RegExp(`smartcard\\.levels\\.high\\.uid: uid ${uid} is the ${name} account's`);
    expect(() => parsePolicy(text, 'policy.yaml')).toThrow(said);
    // The manager refused it above: its `policy.current` never carries it, and the proxy's own start asks again.
    expect(() => parsePolicy(text, 'policy.yaml', 'part')).not.toThrow();
    const dir = mkdtempSync(join(tmpdir(), 'cloison-proxyuid-'));
    try {
      writeFileSync(join(dir, 'policy.yaml'), text);
      expect(() => readPolicyFile(join(dir, 'policy.yaml'), 'whole', { name: 'cloison', uid: 995, gid: 993 })).toThrow(said);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is refused, not taken, when the name service gives no answer', () => {
    const bin = mkdtempSync(join(tmpdir(), 'cloison-names-down-'));
    writeFileSync(join(bin, 'nameServiceIds'), '#!/bin/sh\nexit 1\n');
    chmodSync(bin, 0o755);
    chmodSync(join(bin, 'nameServiceIds'), 0o755);
    standInNameServiceIds(join(bin, 'nameServiceIds'));
    try {
      expect(refusal(withHighUid(60950))).toMatch(/policy\.yaml:8:\d+: smartcard\.levels\.high\.uid: uid 60950: cannot tell whether an account or a group has it, so refused/);
      // The defaults too, at the level's own line.
      expect(refusal(withHighUid(60950))).toMatch(/policy\.yaml:7:\d+: smartcard\.levels\.low: uid 61100 \(the default: 61100 \+ its position\): cannot tell/);
    } finally {
      standInNameServiceIds(null);
      rmSync(bin, { recursive: true, force: true });
    }
  });
});
