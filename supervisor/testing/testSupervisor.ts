/**
 * Test helper: a supervisor started in-process on a test policy with its own directories, a
 * shell's RPC client on its Unix socket, and the paths and journal a test reads from outside.
 */
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { HostSoundTarget } from '../audio/hostSound';
import { parsePolicy } from '../policy/policyLoader';
import { Supervisor } from '../supervisor';
import { testRoot } from './realCage';
import { handshake, wsLink, type ByteLink } from './rfbViewer';
import { rpcClient, type RpcClient } from './rpcClient';

export interface TestSupervisor {
  sup: Supervisor;
  rpc: RpcClient;
  root: string;
  /** A bwrap level's home, on the host. */
  home(level: string): string;
  /**
   * A viewer of a cage through the gateway, as the shell's page opens one (ticket, Origin), past the
   * RFB handshake — or as far as it got within 3 s, when the gateway refuses the cage's end.
   */
  viewer(level: string): Promise<ByteLink>;
  /** A viewer link on a ticket already issued, at the gateway, past the handshake. */
  viewerWithTicket(level: string, ticket: string): Promise<ByteLink>;
  /** Every journal record so far. */
  records(): Array<Record<string, unknown> & { kind: string }>;
  stop(): Promise<void>;
}

export interface TestSupervisorOptions {
  browserShell?: boolean;
  shellUser?: string;
  /** The group admitted on the shell's socket (0660). */
  shellGroup?: number;
  /** A folder the test made first (its policy names paths in it); removed by stop() all the same. */
  root?: string;
  deviceScanMs?: number;
  hostSound?: HostSoundTarget;
  /** The policy file a reload reads (default: none, the text given is all there is). */
  policySource?: string;
}

export async function startTestSupervisor(policyYaml: string, options: TestSupervisorOptions = {}): Promise<TestSupervisor> {
  const root = options.root ?? testRoot();
  const state = join(root, 'state');
  const sup = new Supervisor({
    policy: parsePolicy(policyYaml, options.policySource ?? 'p.yaml'),
    policySource: options.policySource ?? 'p.yaml',
    policyText: policyYaml,
    stateDir: state,
    runDir: join(root, 'run'),
    rendererDir: null,
    browserShell: options.browserShell ?? false,
    ...(options.shellUser ? { shellUser: options.shellUser } : {}),
    ...(options.shellGroup !== undefined ? { shellGroup: options.shellGroup } : {}),
    ...(options.deviceScanMs !== undefined ? { deviceScanMs: options.deviceScanMs } : {}),
    ...(options.hostSound ? { hostSound: options.hostSound } : {}),
  });
  await sup.start();
  const rpc = await rpcClient(sup.rpcSocketPath);
  const viewerWithTicket = async (level: string, ticket: string) => {
    const host = sup.browserHost!;
    const link = await wsLink(`ws://127.0.0.1:${host.port}/vnc?level=${level}&ticket=${ticket}`, false, host.origin);
    // ServerInit: 24 bytes and the desktop name a bwrap cage announces.
    await Promise.race([handshake(link, 24 + `cloison-${level}`.length), new Promise((r) => setTimeout(r, 3000))]);
    return link;
  };
  return {
    sup,
    rpc,
    root,
    home: (level) => join(state, 'cages', level, 'home'),
    viewer: async (level) => {
      const ticket = await rpc.call('vnc.ticket', { level });
      if (!ticket.ok) throw new Error(`no ticket for ${level}: ${ticket.error?.message}`);
      return viewerWithTicket(level, ticket.result.ticket);
    },
    viewerWithTicket: (level, ticket) => viewerWithTicket(level, ticket),
    records: () => readFileSync(join(state, 'audit.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l)),
    stop: async () => {
      rpc.close();
      await sup.stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
}
