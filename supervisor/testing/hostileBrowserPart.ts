/**
 * Test helper run in the browser part's place (BrowserPart's `partScript`): what an attacker who
 * took over the process that accepts browser connections would do. It starts as the part does —
 * reads its inputs, goes to its folder, restricts itself (partRestriction.ts) — but tries its
 * escapes both before the restriction (what such a foothold gave before the split: the root
 * supervisor) and after; then, over its channel, asks the root part for what no browser could
 * get: sessions it was never admitted to, cages' sockets on forged, misdirected or spent tickets,
 * messages shaped to slip arguments in. Writes report.json in its folder, then idles.
 *
 * Its inputs (input.json, in the start's rendererDir): a cage's socket path, a root-only file, a
 * root-only folder, a valid ticket for `low`, a valid launch secret.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { restrictBrowserPart } from '../browserPart/partRestriction';
import { PART_START_ENV, type PartStart, type RootToPart } from '../browserPart/partMessages';
import { connectToRoot } from '../sandbox/partChannel';

export interface HostileInput {
  cageSocket: string;
  rootFile: string;
  rootDir: string;
  ticket: string;
  /** Another valid ticket for low: the control, a socket a browser would get. */
  control: string;
  launch: string;
}

const start = JSON.parse(process.env[PART_START_ENV]!) as PartStart;
const input = JSON.parse(readFileSync(join(start.rendererDir!, 'input.json'), 'utf8')) as HostileInput;
process.chdir(start.partDir);

const outcome = (f: () => void): string => {
  try {
    f();
    return 'ok';
  } catch (err) {
    return (err as NodeJS.ErrnoException).code ?? (err as Error).message;
  }
};
const reachCage = () =>
  new Promise<string>((resolve) => {
    const s = connect(input.cageSocket);
    s.once('connect', () => (s.destroy(), resolve('ok')));
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
async function escapes(): Promise<Record<string, string>> {
  return {
    'connect to a cage\'s VNC socket': await reachCage(),
    'read a root-only file': outcome(() => readFileSync(input.rootFile)),
    'write in root\'s state folder': outcome(() => writeFileSync(join(input.rootDir, 'planted'), 'x')),
    'become root again': outcome(() => process.setuid!(0)),
  };
}

const answers = new Map<number, { message: RootToPart; handle: unknown }>();
const rpcOut: RootToPart[] = [];
const channel = connectToRoot<unknown, RootToPart>({
  message: (message, handle) => {
    if (message.type === 'vnc.opened') answers.set(message.request, { message, handle });
    if (message.type === 'rpc.admitted') answers.set(message.request, { message, handle });
    if (message.type === 'rpc.out') rpcOut.push(message);
  },
  closed: () => process.exit(0),
});
const send = (m: unknown) => channel.send(m);
let request = 100;
async function ask(m: Record<string, unknown>): Promise<{ message: RootToPart; handle: unknown } | 'no answer'> {
  const id = request++;
  send({ ...m, request: id });
  for (let i = 0; i < 100 && !answers.has(id); i++) await new Promise((r) => setTimeout(r, 20));
  return answers.get(id) ?? 'no answer';
}
const vncOutcome = async (level: string, ticket: string) => {
  const a = await ask({ type: 'vnc.open', level, ticket });
  if (a === 'no answer') return a;
  const m = a.message as Extract<RootToPart, { type: 'vnc.opened' }>;
  if ('refused' in m.admission) return `refused ${m.admission.refused.status}`;
  if ('close' in m.admission) return `closed ${m.admission.close.code}`;
  return a.handle !== null ? 'handle' : 'admitted without a handle';
};
const admitOutcome = async (offered: Record<string, string>) => {
  const a = await ask({ type: 'rpc.admit', ...offered });
  return a === 'no answer' ? a : (a.message as Extract<RootToPart, { type: 'rpc.admitted' }>).conn;
};

async function main(): Promise<void> {
  const before = await escapes();
  restrictBrowserPart(start.account);
  const after = await escapes();
  send({ type: 'listening', port: 1, viewerPorts: {} });

  const protocol: Record<string, unknown> = {};
  // Sessions never admitted: frames and an "opened" for connection numbers the root part never gave.
  for (let conn = 1; conn <= 20; conn++) {
    send({ type: 'rpc.opened', conn });
    send({ type: 'rpc.frame', conn, text: JSON.stringify({ id: conn, method: 'shell.launch', params: {} }) });
  }
  protocol['shell admitted on a forged launch secret'] = await admitOutcome({ launch: 'forged-secret' });
  protocol['shell admitted on a forged resume token'] = await admitOutcome({ resume: 'forged-token' });
  protocol['shell admitted offering nothing'] = await admitOutcome({});
  protocol['cage socket on a forged ticket'] = await vncOutcome('low', 'forged-ticket');
  protocol['cage socket of high on low\'s ticket'] = await vncOutcome('high', input.ticket);
  protocol['cage socket on that ticket, spent'] = await vncOutcome('low', input.ticket);
  protocol['cage socket on a valid ticket'] = await vncOutcome('low', input.control);
  // Shapes the schema refuses: each must be dropped (never answered), not acted on.
  const slipped = [
    { type: 'vnc.open', request: 900, level: 'low --bind / /', ticket: 'x' },
    { type: 'vnc.open', request: 901, level: '../low', ticket: 'x' },
    { type: 'vnc.open', request: 902, level: 'low', ticket: 'x', endpoint: { path: '/run/other.sock' } },
    { type: 'rpc.frame', conn: 1, text: 'x'.repeat(70 * 1024) },
    { type: 'rpc.admit', request: 903, launch: 'x', uid: 0 },
    { type: 'journal.append', kind: 'vnc.connect' },
    'not an object',
    null,
  ];
  for (const m of slipped) send(m);
  await new Promise((r) => setTimeout(r, 300));
  protocol['slipped shapes answered'] = [...answers.keys()].filter((id) => id >= 900).length;
  // Controls: what a browser could get, the part gets too.
  const conn = await admitOutcome({ launch: input.launch });
  protocol['shell admitted on the real launch secret'] = typeof conn === 'number' ? 'admitted' : conn;
  if (typeof conn === 'number') {
    send({ type: 'rpc.opened', conn });
    await new Promise((r) => setTimeout(r, 200));
  }
  protocol['frames received before any admission'] = rpcOut.filter((m) => m.type === 'rpc.out' && m.conn !== conn).length;
  protocol['events received by the admitted shell'] = rpcOut.filter((m) => m.type === 'rpc.out' && m.conn === conn).length > 0;
  writeFileSync('report.json', JSON.stringify({ before, after, protocol }));
  setInterval(() => undefined, 60_000);
}

main().catch((err: Error) => writeFileSync('report.json', JSON.stringify({ error: err.stack })));
