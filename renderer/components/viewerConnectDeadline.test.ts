import { describe, expect, it } from 'vitest';
import { createViewerConnectDeadline, VIEWER_CONNECT_MS } from './viewerConnectDeadline';

describe('viewer connect deadline', () => {
  it('a viewer still connecting past the deadline after its ticket is overdue; one that answered is not', () => {
    let t = 0;
    const deadline = createViewerConnectDeadline(() => t, () => true);
    expect(deadline.overdue(), 'no ticket handed yet').toBe(false);
    deadline.opened();
    t = VIEWER_CONNECT_MS;
    expect(deadline.overdue()).toBe(false);
    t += 1;
    expect(deadline.overdue()).toBe(true);
    deadline.ended(); // connected, unreachable, or its frame replaced
    t += 10 * VIEWER_CONNECT_MS;
    expect(deadline.overdue()).toBe(false);
  });

  it('a new ticket starts the count again', () => {
    let t = 0;
    const deadline = createViewerConnectDeadline(() => t, () => true);
    deadline.opened();
    t = VIEWER_CONNECT_MS - 1;
    expect(deadline.overdue()).toBe(false);
    deadline.opened();
    t += VIEWER_CONNECT_MS - 1;
    expect(deadline.overdue()).toBe(false);
    t += 2;
    expect(deadline.overdue()).toBe(true);
  });

  it('does not count the time the page was hidden (throttled timers), nor the interval it was shown in', () => {
    let t = 0;
    let shown = true;
    const deadline = createViewerConnectDeadline(() => t, () => shown);
    deadline.opened();
    t = VIEWER_CONNECT_MS / 2;
    expect(deadline.overdue()).toBe(false);
    shown = false;
    t += 10 * VIEWER_CONNECT_MS;
    expect(deadline.overdue()).toBe(false);
    t += 60_000; // a hidden page's timer, a minute later, as it is shown again
    shown = true;
    expect(deadline.overdue()).toBe(false);
    t += VIEWER_CONNECT_MS / 2;
    expect(deadline.overdue()).toBe(false);
    t += 2;
    expect(deadline.overdue()).toBe(true);
  });
});
