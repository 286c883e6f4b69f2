/**
 * The browser part restarted (it crashed; the root part starts it again on the same address): the
 * page reloads once its server answers again, and presents its resume token — the same shell, no
 * new launch. It asks its own origin first, because a reload while nothing listens would leave
 * the browser's error page, with no script left to try again. Not after "opened again elsewhere"
 * (SHELL_TAKEN_OVER): that session is another tab's now, and taking it back would never end.
 */
export const SHELL_TAKEN_OVER = 4000;

export function reloadWhenBack(code: number | undefined, win: Window = window, everyMs = 500): void {
  if (code === SHELL_TAKEN_OVER) return;
  const retry = () => void setTimeout(tryOnce, everyMs);
  const tryOnce = () =>
    void fetch(`${win.location.origin}/`, { method: 'HEAD', cache: 'no-store' }).then((res) => (res.ok ? win.location.reload() : retry()), retry);
  retry();
}
