/**
 * Test tool, run as the unprivileged part would be (the manager's child, the `cloison` account):
 * a level's cage started through RemoteCageDriver, a listener on its `onNotice` (`cage.notice`)
 * reporting each notice to the parent, which fills the cage's home then empties it. Once both
 * notices came: the first asked again without a number (kept by the manager), the other level's
 * and an unnamed level's asked, twenty requests left pending at once, then the cage stopped and
 * what the twenty were answered reported.
 */
import type { CageNotice } from '../cages/cageDriver';
import { remoteCagePart, type RemoteCagePartStart } from './remoteCagePart';

const { start, client, driverFor, report, failure, done } = await remoteCagePart<RemoteCagePartStart & { level: string; uid: number; otherLevel: string }>();
const driver = driverFor(start.level, start.uid);

async function step(name: string, act: () => Promise<unknown>): Promise<void> {
  try {
    report(name, { answer: await act() });
  } catch (err) {
    report(name, failure(err));
  }
}

const cage = await driver.start();
const notices: CageNotice[] = [];
const both = new Promise<void>((resolve) =>
  cage.onNotice!((notice) => {
    notices.push(notice);
    report('notice', { notice });
    if (notices.length === 2) resolve();
  }),
);
report('started', { innerPid: cage.innerPid });
await both;
await step('first again', () => client.request({ op: 'cage.notice', level: start.level }));
await step('other level', () => client.request({ op: 'cage.notice', level: start.otherLevel }));
await step('unnamed level', () => client.request({ op: 'cage.notice', level: 'secret' }));
const twenty = Array.from({ length: 20 }, () => client.request({ op: 'cage.notice', level: start.level, after: 1_000_000 }));
await step('stop', async () => (await cage.stop(), await cage.exited));
await step('twenty pending', async () => (await Promise.allSettled(twenty)).map((r) => (r.status === 'fulfilled' ? r.value : failure(r.reason))));
report('notices after the end', { count: notices.length });
done();
