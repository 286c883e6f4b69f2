/**
 * A reload reaches each broker at once: brokers built on the running-policy store decide by the
 * policy that replaced the one they started with (a broker that took a copy at start would still
 * give the microphone, still allow a long delay, still list the old files rule).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AudioBroker } from '../audio/audioBroker';
import { HostSound } from '../audio/hostSound';
import { SessionLock } from '../session/sessionLock';
import { bwrapCage, twoLevelPolicy } from '../testing/testPolicy';
import { parsePolicy } from './policyLoader';
import { RunningPolicy } from './runningPolicy';

const before = twoLevelPolicy({ low: bwrapCage(), high: bwrapCage() }, 'audio: { microphone: [high] }\nsession: { userMayExtendUpTo: 3600 }\n');
const after = twoLevelPolicy({ low: bwrapCage(), high: bwrapCage() }, 'audio: { enabled: false, microphone: [] }\nsession: { userMayExtendUpTo: 600 }\n');

function store(): RunningPolicy {
  return new RunningPolicy(parsePolicy(before, 'p.yaml'), before, 'p.yaml');
}

describe('brokers read the running policy, not a copy', () => {
  const dirs: string[] = [];
  afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('the audio section: a reload that takes the microphone away is refused at once', () => {
    const policy = store();
    const audio = new AudioBroker({ policy, host: new HostSound(null), record: () => {} });
    expect(audio.view()).toMatchObject({ enabled: true, levels: [{ level: 'low', micAllowed: false }, { level: 'high', micAllowed: true }] });
    policy.replace(parsePolicy(after, 'p.yaml'), after);
    expect(audio.view()).toMatchObject({ enabled: false, levels: [{ micAllowed: false }, { micAllowed: false }] });
    expect(() => audio.setMicrophone('high')).toThrow(/does not let level "high" have the microphone/);
  });

  it('the session section: a reload that shortens the longest delay applies to the next choice', () => {
    const policy = store();
    const dir = mkdtempSync(join(tmpdir(), 'cloison-reader-'));
    dirs.push(dir);
    const lock = new SessionLock({
      policy,
      record: () => {},
      checkPassword: async () => false,
      user: { name: 'alice', uid: 1000, gid: 1000, source: 'shell-user' },
      markerFile: join(dir, 'session.locked'),
      failuresFile: join(dir, 'unlock-failures.json'),
    });
    try {
      expect(lock.chooseDelay(1800).lockAfterSeconds).toBe(1800);
      policy.replace(parsePolicy(after, 'p.yaml'), after);
      expect(() => lock.chooseDelay(1800)).toThrow(/at most 600 s/);
      expect(lock.view().userMayExtendUpTo).toBe(600);
    } finally {
      lock.dispose();
    }
  });
});
