/**
 * A WireGuard cage survives its supervisor with its tunnel: after a SIGKILL the next supervisor
 * re-adopts the cage and takes the tunnel back — the same wireguard-go process, the same interface
 * in the cage — and the site still answers through it; a tunnel whose wireguard-go ended meanwhile
 * is made again rather than the cage restarted. Real peer (wireguard-go) in a namespace the test
 * makes (siteGateway.ts), real cages (orphanCage.ts).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BwrapDriver } from '../cages/bwrapDriver';
import type { Adoption } from '../cages/cageAdoption';
import type { RunningCage } from '../cages/cageDriver';
import { isSameProcess, readCageRecord, type CageRecord } from '../cages/cageRecord';
import { startOrphanCage, type OrphanCage } from '../testing/orphanCage';
import { cageShell } from '../testing/realCage';
import { startSiteGateway, type SiteGateway } from '../testing/siteGateway';
import { waitFor } from '../testing/waitFor';

const SUBNET = 20 + (process.pid % 150);

function recordOf(orphan: OrphanCage): CageRecord {
  const r = readCageRecord(orphan.options.paths.run);
  if (!r || 'unreadable' in r) throw new Error('no cage record');
  return r;
}

describe('a WireGuard cage after a supervisor killed with SIGKILL', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cloison-wgr-'));
  let site: SiteGateway;
  const cleanups: Array<() => Promise<unknown>> = [];
  beforeAll(async () => {
    site = await startSiteGateway(dir, SUBNET);
  }, 30_000);
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  }, 30_000);
  afterAll(() => {
    site?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const fetchSite = (o: OrphanCage) =>
    cageShell(o.innerPid, o.options.uid)(`timeout 5 bash -c 'exec 3<>/dev/tcp/${site.tunnelAddress}/8080 && printf "GET / HTTP/1.0\\r\\n\\r\\n" >&3 && cat <&3'`, 15_000);

  async function orphanOnWireguard(level: string): Promise<OrphanCage> {
    const o = await startOrphanCage(level, { network: { mode: 'wireguard', config: site.cageConfig } });
    cleanups.push(() => o.cleanUp());
    return o;
  }

  async function adopt(o: OrphanCage): Promise<RunningCage> {
    const adoption = await new BwrapDriver(o.options).adopt();
    expect(adoption).toMatchObject({ kind: 'adopted' });
    const cage = (adoption as Extract<Adoption, { kind: 'adopted' }>).cage;
    cleanups.push(() => cage.stop());
    return cage;
  }

  it('takes the tunnel back: the same wireguard-go, the site answers, the state is shown up; gone with the cage', async () => {
    const o = await orphanOnWireguard('wgback');
    const record = recordOf(o);
    expect(record.tunnel).toMatchObject({ kind: 'wireguard-go' });
    const go = record.tunnel!.go!;
    // While no supervisor runs, the tunnel carries on.
    expect(isSameProcess(go)).toBe(true);
    expect((await fetchSite(o)).stdout).toContain('site service through the tunnel');

    const cage = await adopt(o);
    await waitFor(() => cage.tunnel?.current().state === 'up', 'the tunnel shown up', 20_000);
    expect(cage.tunnel!.current()).toMatchObject({ level: 'wgback', state: 'up', endpoint: `${site.underlayAddress}:${site.port}` });
    expect(isSameProcess(go)).toBe(true);
    expect(isSameProcess(record.xvnc)).toBe(true);
    expect((await fetchSite(o)).stdout).toContain('site service through the tunnel');

    await cage.stop();
    await waitFor(() => !isSameProcess(go), 'wireguard-go to end with the cage', 15_000);
  }, 90_000);

  it('makes the tunnel again when its wireguard-go ended meanwhile; the cage itself is kept', async () => {
    const o = await orphanOnWireguard('wgagain');
    const record = recordOf(o);
    process.kill(record.tunnel!.go!.pid, 'SIGKILL');
    await waitFor(() => !isSameProcess(record.tunnel!.go!), 'wireguard-go gone');
    expect((await fetchSite(o)).stdout).not.toContain('site service');

    const cage = await adopt(o);
    expect(isSameProcess(record.xvnc)).toBe(true);
    await waitFor(() => cage.tunnel?.current().state === 'up', 'the tunnel made again', 20_000);
    const again = recordOf(o).tunnel!;
    expect(again.go!.pid).not.toBe(record.tunnel!.go!.pid);
    expect((await fetchSite(o)).stdout).toContain('site service through the tunnel');
  }, 90_000);
});
