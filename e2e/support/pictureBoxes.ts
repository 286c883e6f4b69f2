/**
 * Where the shell shows cage pictures, for tests that check a shell notice or menu lies over none:
 * the boxes of each visible viewer box and its iframe, and whether two boxes overlap.
 */
import type { Page } from '@playwright/test';

export type Box = { x: number; y: number; width: number; height: number };

export const intersects = (a: Box, b: Box) => a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;

/** The boxes of every cage picture shown: each visible viewer box and its iframe. */
export async function pictureBoxes(page: Page): Promise<{ what: string; box: Box }[]> {
  return page.evaluate(() =>
    [...document.querySelectorAll<HTMLElement>('[data-testid^="viewer-"]:not([data-testid^="viewer-frame"]), [data-testid^="viewer-"] iframe')]
      .filter((el) => el.checkVisibility({ visibilityProperty: true }))
      .map((el) => {
        const r = el.getBoundingClientRect();
        return { what: el.tagName === 'IFRAME' ? `iframe of ${el.closest('[data-testid^="viewer-"]')?.getAttribute('data-testid')}` : el.getAttribute('data-testid') ?? '?', box: { x: r.x, y: r.y, width: r.width, height: r.height } };
      }),
  );
}
