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
 */
import type { Socket } from 'node:net';
import { CloisonError } from '../../shared/errors';
import { cageUid, type Policy } from '../../shared/policy';
import { bwrapCagePaths } from '../cages/bwrapDriver';
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

export function filesHelperExecutor(deps: FilesHelperDeps): (req: RequestOf<'files.helper'>) => Promise<{ connection: number }> {
  let next = 1;
  const serving = new Map<string, number>();
  return async (req) => {
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
    const helper = spawnServingFileHelper({ home, uid });
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
}
