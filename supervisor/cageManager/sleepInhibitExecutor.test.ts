/**
 * `sleep.inhibit` behind the real manager socket, asked by a real process of the part's account,
 * against the machine's real systemd-logind on a system bus of the test's own (as
 * session/sleepGuard.test.ts). Seen with an executor acting on each request as given (a guard per
 * request): four requests held four delay inhibitors — each one more way for a compromised part
 * to hold the machine's sleep back — and four watchers. Now one inhibitor however often it asks,
 * taken again after a resume; the sleep is announced to the manager once. A PrepareForSleep forged
 * by the part's account (any local account may emit one on the system bus) was journaled and
 * announced as a sleep, each time (seen: six for five forged and logind's one); now only logind's.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePolicy } from '../policy/policyLoader';
import { SleepGuard } from '../session/sleepGuard';
import { serveManagerToCloison, type ServedManager } from '../testing/managerServedToCloison';
import { busctl, privateLogindUnavailable, startPrivateLogind, type PrivateLogind } from '../testing/privateLogind';
import { sendFramesAs } from '../testing/rawFramesAs';
import { skipWithReason } from '../testing/skipWithReason';
import { bwrapCage, twoLevelPolicy } from '../testing/testPolicy';
import { waitFor } from '../testing/waitFor';
import type { RootExecutors } from './cageManagerServer';
import { sleepInhibitExecutor } from './sleepInhibitExecutor';

const unavailable = privateLogindUnavailable();
let logind: PrivateLogind | null = null;
let manager: ServedManager;
let execute: NonNullable<RootExecutors['sleep.inhibit']>;
const guards: SleepGuard[] = [];
let mine: ReturnType<typeof sleepInhibitExecutor> | null = null;
const announced: string[] = [];

const ours = async () => ((await busctl(logind!.address, ['call', 'org.freedesktop.login1', '/org/freedesktop/login1', 'org.freedesktop.login1.Manager', 'ListInhibitors'])).stdout.match(/"Cloison"/g) ?? []).length;
const ask = async (times: number) => (await sendFramesAs(manager.cloison, manager.socketPath, Array.from({ length: times }, (_, id) => ({ json: { id, request: { op: 'sleep.inhibit' } } })))).replies;

beforeAll(async () => {
  if (unavailable) return;
  logind = await startPrivateLogind();
  const policy = parsePolicy(twoLevelPolicy({ low: bwrapCage({ uid: 58800 }), high: bwrapCage({ uid: 58801 }) }), 'p.yaml');
  manager = await serveManagerToCloison({ prefix: 'cloison-sx-', policy: () => policy, executors: () => ({ 'sleep.inhibit': (req, peer) => execute(req, peer) }) });
}, 30_000);

afterAll(async () => {
  for (const guard of guards) guard.stop();
  mine?.stop();
  await manager?.close();
  logind?.stop();
});

describe('sleep.inhibit (real logind on a private bus)', () => {
  it('holds one inhibitor however often asked; the sleep is announced once; taken again on resume', async (ctx) => {
    if (unavailable) skipWithReason(ctx, unavailable);
    // As managerMain.ts does: each sleep journaled (a fsync'd record in root's journal) and told to the part.
    mine = sleepInhibitExecutor({ onSleep: () => (announced.push('sleep'), manager.journal.append('session.sleep', 'supervisor', {})), settleMs: 200, env: { DBUS_SYSTEM_BUS_ADDRESS: logind!.address } });
    execute = mine;
    const replies = await ask(4);
    expect(replies).toHaveLength(4);
    expect(replies.every((r) => (r as { ok: boolean }).ok)).toBe(true);
    expect(await ours()).toBe(1);
    expect(await ask(2)).toEqual([expect.objectContaining({ result: { state: 'logind' } }), expect.objectContaining({ result: { state: 'logind' } })]);
    expect(await ours()).toBe(1);
    await new Promise((r) => setTimeout(r, 300)); // the monitor is listening
    await logind!.announce(true);
    await waitFor(() => announced.length === 1, 'the sleep announced');
    await waitFor(async () => (await ours()) === 0, 'the inhibitor let go for the sleep');
    await logind!.announce(false);
    await waitFor(async () => (await ours()) === 1, 'the inhibitor again');
    expect(announced).toEqual(['sleep']);
  }, 30_000);

  it('a PrepareForSleep forged on the system bus by the part\'s own account is neither journaled nor announced; logind\'s next one is', async (ctx) => {
    if (unavailable) skipWithReason(ctx, unavailable);
    if (!mine) throw new Error('the test before starts the executor');
    const forge = () =>
      new Promise<string | null>((resolve) =>
        execFile('setpriv', [`--reuid=${manager.cloison.uid}`, `--regid=${manager.cloison.gid}`, '--clear-groups', '--', 'busctl', '--system', 'emit', '/org/freedesktop/login1', 'org.freedesktop.login1.Manager', 'PrepareForSleep', 'b', 'true'], { env: { ...process.env, DBUS_SYSTEM_BUS_ADDRESS: logind!.address } }, (err) => resolve(err ? err.message : null)),
      );
    for (let i = 0; i < 5; i++) expect(await forge(), 'the forger reached the bus').toBeNull();
    await logind!.announce(true);
    await waitFor(() => announced.length >= 2, 'logind\'s sleep announced');
    await waitFor(async () => (await ours()) === 0, 'the inhibitor let go for the sleep');
    // The resume comes after all of them on the bus: once the inhibitor is taken again, each was seen.
    await logind!.announce(false);
    await waitFor(async () => (await ours()) === 1, 'the inhibitor again').catch(() => undefined);
    const sleeps = readFileSync(manager.journal.path, 'utf8').split('\n').filter((l) => l.includes('"session.sleep"')).length;
    console.log(`five forged PrepareForSleep, then logind's: ${announced.length - 1} sleep(s) announced, ${sleeps - 1} journaled`);
    expect(announced).toEqual(['sleep', 'sleep']);
    expect(sleeps).toBe(2);
    expect(await ours()).toBe(1);
  }, 30_000);
});
