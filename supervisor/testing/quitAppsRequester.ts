/**
 * Test tool, run as the unprivileged part would be (the manager's child, the `cloison` account):
 * a level's cage started through RemoteCageDriver, two apps launched (a terminal, and an app that
 * opens windows under hostile names), the windows counted through `appWindows` (`app.windows`)
 * until both terminal windows show, then the other level's and an unnamed level's counts, the
 * apps asked to quit through `quitApps` (`cage.quitApps`), counted again, and the cage stopped.
 * Every answer the part received is reported whole to the parent (its channel).
 */
import { remoteCagePart, type RemoteCagePartStart } from './remoteCagePart';

const { start, client, policy, driverFor, report, failure, done } = await remoteCagePart<RemoteCagePartStart & { level: string; uid: number; otherLevel: string; otherUid: number }>();
const appsOf = (level: string) => {
  const cage = policy.levels.find((l) => l.id === level)!.cage;
  return cage.driver === 'bwrap' ? cage.apps : [];
};

async function step(name: string, act: () => Promise<unknown>): Promise<void> {
  try {
    report(name, { answer: await act() });
  } catch (err) {
    report(name, failure(err));
  }
}

const cage = await driverFor(start.level, start.uid).start();
for (const app of appsOf(start.level)) await step(`launch ${app.id}`, () => cage.launcher!.launch({ argv: app.exec }));
// The windows take a moment to map: asked again until the terminal's two show (or 40 answers).
let counted: unknown = null;
for (let i = 0; i < 40; i++) {
  counted = await cage.appWindows!().catch((err: unknown) => failure(err));
  if (JSON.stringify(counted).includes('"windows":2')) break;
  await new Promise((r) => setTimeout(r, 250));
}
report('windows', { answer: counted });
report('windows raw', { answer: await client.request({ op: 'app.windows', level: start.level }) });
// The other level, not running, though its app's windows have the same class as the terminal's.
await step('other level windows', () => client.request({ op: 'app.windows', level: start.otherLevel }));
await step('other level quit', () => client.request({ op: 'cage.quitApps', level: start.otherLevel }));
await step('unnamed level windows', () => client.request({ op: 'app.windows', level: 'secret' }));
await step('quit', () => cage.quitApps!(1));
await step('windows after quit', () => cage.appWindows!());
// The apps again, then eight quits asked at once, as a part flooding the request would.
for (const app of appsOf(start.level)) await cage.launcher!.launch({ argv: app.exec });
for (let i = 0; i < 40 && !JSON.stringify(await cage.appWindows!().catch(() => null)).includes('"windows":2'); i++) await new Promise((r) => setTimeout(r, 250));
await step('quit eight at once', () => Promise.all(Array.from({ length: 8 }, () => client.request({ op: 'cage.quitApps', level: start.level }))));
await step('stop', async () => (await cage.stop(), await cage.exited));
done();
