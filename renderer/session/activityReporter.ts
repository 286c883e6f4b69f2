/**
 * Tells the supervisor that someone is at the shell: any key, click, pointer motion, wheel or touch
 * the trusted page sees (keys typed into a cage included: the page holds the input surface). At
 * most one report per interval, the first one at once. Only the trusted page reports: what a
 * viewer or a cage sends never keeps the workstation from locking.
 */
const EVENTS = ['keydown', 'mousedown', 'mousemove', 'wheel', 'touchstart'] as const;

export function reportActivity(target: Window, report: () => void, intervalMs = 2000): () => void {
  let lastSent = 0;
  let pending: ReturnType<typeof setTimeout> | null = null;
  const send = () => {
    pending = null;
    lastSent = Date.now();
    report();
  };
  const onInput = () => {
    if (pending) return;
    const wait = lastSent + intervalMs - Date.now();
    if (wait <= 0) send();
    else pending = setTimeout(send, wait);
  };
  for (const name of EVENTS) target.addEventListener(name, onInput, { capture: true, passive: true });
  return () => {
    if (pending) clearTimeout(pending);
    for (const name of EVENTS) target.removeEventListener(name, onInput, { capture: true });
  };
}
