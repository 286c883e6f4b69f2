/**
 * The manager's side of `files.helper`: the file helper (files/cageFileSandbox.ts: bwrap over that
 * one level's home, as the level's cage uid, no network, no capability) started in its `serve`
 * mode, its channel — one end of the socket pair that is its standard input — handed to the
 * unprivileged part over SCM_RIGHTS, as `cage.vncSocket` hands its connection (socketHandOver.ts);
 * the manager closes its own copy. The answer is only the channel's number, which the part matches
 * with the socket it received: no path, no uid, nothing the part could name. The home and the uid
 * are the manager's derivations for the level (bwrapCagePaths, cageUid), the uid asked must be the
 * level's own, and the home must be mounted (an unmounted home is a folder of the state, not the
 * cage's files). The part speaks the helper's requests over the channel (fileHelper.mjs); when it
 * closes the channel, the helper ends. A level has at most a few helpers serving at once: a part
 * asking again and again without closing any does not fill the machine with them.
 * What one helper may stage uncommitted at once is the largest file the policy lets into the level
 * (filesStageBytes), its /tmp a tmpfs of about that size; a level's helpers run in a control group
 * of their own (cageCgroup.ts, as a cage's) with a memory and a task limit, not in the manager's.
 */
import { createHash } from 'node:crypto';
import type { Socket } from 'node:net';
import { CloisonError } from '../../shared/errors';
import { cageUid, fileRuleFor, type Policy } from '../../shared/policy';
import { bwrapCagePaths } from '../cages/bwrapDriver';
import { createCageCgroup, type CageCgroup } from '../cages/cageCgroup';
import { isMountPoint } from '../cages/cageMounts';
import { spawnServingFileHelper } from '../files/cageFileSandbox';
import { refused } from './openedExactly';
import type { RequestOf } from './requests';
import { FILES_HELPER_MESSAGE, handOverSocket, type PartEnd } from './socketHandOver';

export interface FilesHelperDeps {
  policy(): Policy;
  stateDir: string;
  runDir: string;
  /** The unprivileged part's channel, where the helper's channel goes, while it runs. */
  part(): PartEnd | null;
  /** Helpers a level may have serving at once (each a process as the cage's uid): 4 unless told. */
  maxPerLevel?: number;
}

/** The largest file any rule lets into `level` from another level: what one helper may stage at once. */
export function filesStageBytes(policy: Policy, level: string): number {
  const to = policy.levels.find((l) => l.id === level);
  if (!to) return 0;
  return Math.max(0, ...policy.levels.filter((l) => l !== to).map((from) => fileRuleFor(policy, from, to).maxFileBytes));
}

/** A level's helpers' group: each helper a node process and its request's child (their threads), and the staged bytes in tmpfs (charged to the group). */
function helperLimits(stageBytes: number, helpers: number) {
  return { memoryBytes: helpers * (128 * 1024 * 1024 + 4 * stageBytes), tasks: helpers * 64, cpuWeight: 100 };
}

export function filesHelperExecutor(deps: FilesHelperDeps): ((req: RequestOf<'files.helper'>) => Promise<{ connection: number }>) & { stop(): void } {
  let next = 1;
  const serving = new Map<string, number>();
  const groups = new Map<string, { cgroup: CageCgroup; stageBytes: number }>();
  // One group per level, made again when the policy's largest file changes; named per run folder
  // (two managers, tests, never share one). Where the host has none, the helper runs without (as a cage does).
  const groupFor = (level: string, stageBytes: number, helpers: number): CageCgroup | null => {
    const had = groups.get(level);
    if (had?.stageBytes === stageBytes) return had.cgroup;
    if (had && (serving.get(level) ?? 0) === 0) {
      had.cgroup.remove();
      groups.delete(level);
    }
    if (had) return had.cgroup;
    const made = createCageCgroup(`files-${level}-${createHash('sha256').update(deps.runDir).digest('hex').slice(0, 12)}`, helperLimits(stageBytes, helpers));
    if (!made.cgroup) return null;
    groups.set(level, { cgroup: made.cgroup, stageBytes });
    return made.cgroup;
  };
  const execute = async (req: RequestOf<'files.helper'>) => {
    const policy = deps.policy();
    const index = policy.levels.findIndex((l) => l.id === req.level);
    const cage = policy.levels[index]?.cage;
    if (!cage || cage.driver !== 'bwrap') throw refused(`level "${req.level}" has no bwrap cage`);
    const uid = cageUid(cage, index);
    if (req.uid !== uid) throw refused(`uid ${req.uid} is not level ${req.level}'s (${uid})`);
    const { home } = bwrapCagePaths(deps.stateDir, deps.runDir, req.level);
    if (!isMountPoint(home)) throw refused(`level ${req.level}'s home is not mounted`);
    const part = deps.part();
    if (!part) throw new CloisonError('INTERNAL', 'the unprivileged part is not running');
    const max = deps.maxPerLevel ?? 4;
    if ((serving.get(req.level) ?? 0) >= max) throw refused(`level ${req.level} has ${max} file helpers serving already: close one first`);
    const stageBytes = filesStageBytes(policy, req.level);
    const cgroup = groupFor(req.level, stageBytes, max);
    const helper = spawnServingFileHelper({ home, uid }, { stageBytes, ...(cgroup ? { prefix: cgroup.joinPrefix } : {}) });
    serving.set(req.level, (serving.get(req.level) ?? 0) + 1);
    helper.once('exit', () => serving.set(req.level, (serving.get(req.level) ?? 1) - 1));
    const connection = next++;
    try {
      await handOverSocket(part, { type: FILES_HELPER_MESSAGE, level: req.level, connection }, helper.stdin as unknown as Socket);
    } catch (err) {
      helper.kill('SIGKILL');
      throw err;
    }
    return { connection };
  };
  return Object.assign(execute, {
    /** Kills the helpers left and removes their groups (the manager's end). */
    stop: () => {
      for (const { cgroup } of groups.values()) cgroup.remove();
      groups.clear();
    },
  });
}
