/**
 * Tells the supervisor the size of the box a cage is drawn in (CSS pixels and the pixel ratio), as
 * this trusted page lays it out: window resize, split view, fullscreen, a new pixel ratio. The
 * supervisor decides the cage's screen from it (`geometry: auto`, bounded by the policy); the
 * viewer frame never asks for a size, and the gateway would refuse it if it did.
 *
 * A level's refusal grows its frame's title strip and the picture's box shrinks by as much while
 * it is shown (LevelNotice.tsx). The size reported is the box's at rest, the strip's extra height
 * given back: a notice that comes and goes resizes no cage (an X screen resize at each notice
 * makes every window in the cage lay itself out again, twice); meanwhile the viewer scales the
 * picture down into the smaller box (scaleViewport) and the pointer still maps to the cage's pixels.
 */
import { useEffect, type RefObject } from 'react';
import { useShell } from '../shellContext';

/** A window being dragged to a new size reports once it rests, not at every step. */
export const FRAME_REPORT_DELAY_MS = 120;

export function useFrameSizeReport(level: string, box: RefObject<HTMLElement | null>, status: string | undefined): void {
  const { api } = useShell();
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let last = '';
    const report = () => {
      timer = undefined;
      const { width, height: shown } = el.getBoundingClientRect();
      const height = shown + noticeHeight(el);
      const devicePixelRatio = window.devicePixelRatio;
      if (width < 1 || height < 1) return; // not laid out (yet)
      const key = `${width}x${height}@${devicePixelRatio}`;
      if (key === last) return;
      last = key;
      void api.call('cage.frameSize', { level, width, height, devicePixelRatio }).catch(() => (last = ''));
    };
    const soon = () => {
      clearTimeout(timer);
      timer = setTimeout(report, FRAME_REPORT_DELAY_MS);
    };
    const observer = new ResizeObserver(soon);
    try {
      // Device pixels: a new pixel ratio with the same CSS size is a change too.
      observer.observe(el, { box: 'device-pixel-content-box' });
    } catch {
      observer.observe(el);
    }
    window.addEventListener('resize', soon);
    return () => {
      observer.disconnect();
      window.removeEventListener('resize', soon);
      clearTimeout(timer);
    };
    // `status`: a cage that (re)starts, or a supervisor that comes back, hears the size again.
  }, [api, level, box, status]);
}

/** How much taller than its title row the frame's strip is: the level's notice, while shown. */
export function noticeHeight(box: HTMLElement): number {
  const strip = box.closest('.frame')?.querySelector('.frame__strip');
  const title = strip?.querySelector('.frame__title');
  if (!strip || !title) return 0;
  return Math.max(0, strip.getBoundingClientRect().height - title.getBoundingClientRect().height);
}
