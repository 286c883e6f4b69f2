/**
 * A paste whose xclip input never reaches the part (the manager started it, its socket did not
 * come in time): the part asks the manager to stop that xclip, which would otherwise serve on,
 * owning the cage's selection with nothing written to it.
 */
import { describe, expect, it } from 'vitest';
import { parsePolicy } from '../policy/policyLoader';
import { bwrapCage, twoLevelPolicy } from '../testing/testPolicy';
import type { ManagerRequester } from './managerLink';
import { remoteCageXTools } from './remoteXTools';
import type { HandedSockets } from './socketHandOver';

describe('remoteCageXTools serveSelection when the input is never handed over', () => {
  it('fails, and sends xhelper.stop for that connection', async () => {
    const sent: Array<Record<string, unknown>> = [];
    const client: ManagerRequester = {
      closed: false,
      request: (async (req: Record<string, unknown>) => {
        sent.push(req);
        return req.op === 'xhelper.run' ? { connection: 7 } : { stopped: true };
      }) as ManagerRequester['request'],
    };
    // The socket never arrives: take fails as its time limit does.
    const handed = { take: (connection: number) => Promise.reject(new Error(`connection ${connection} was not handed over within 5000 ms`)) } as unknown as HandedSockets;
    const policy = parsePolicy(twoLevelPolicy({ low: bwrapCage({ uid: 58558 }), high: bwrapCage({ uid: 58559 }) }), 'p.yaml');
    const tools = remoteCageXTools({ client, policy: () => policy, isRunning: () => true, handed });
    await expect(tools.serveSelection('low', 'collé', 'clipboard')).rejects.toThrow('not handed over');
    expect(sent.map((r) => r.op)).toEqual(['xhelper.run', 'xhelper.stop']);
    expect(sent[1]).toEqual({ op: 'xhelper.stop', level: 'low', connection: 7 });
  });
});
