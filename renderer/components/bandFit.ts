/**
 * The band fits its window (issue #26: at 1024×768 in French its Menu button was cut off). Its
 * controls give up words, never themselves: as long as the band's content is wider than the band,
 * it takes the next compaction step, each a data attribute on the band that styles.css reads —
 *   1. the "Niveau"/"Level" caption goes; a running cage's "en service" goes (a stopped or crashed
 *      one still says so); the tunnel's handshake age goes (it stays in the tooltip);
 *   2. Applications and Menu become their icons (☰ keeps the key), the trust phrase narrows;
 *   3. the other levels' buttons keep their swatch and state marks without their names, sound and
 *      card keep their symbols, the key hint goes, the trust phrase narrows again.
 * Every control keeps its name as its accessible label and tooltip. What is never taken: the level
 * in front's name and colour (the unforgeable part), which no step touches.
 *
 * Measured, not guessed from the window's width: French labels are longer than English ones, a
 * policy names its levels and enables optional controls, and a user's trust phrase has up to 60
 * characters. The steps are tried from the first each time the band or one of its parts changes
 * size, synchronously before the frame is painted (a ResizeObserver callback), so the band never
 * shows cut for a frame and grows back when room comes back.
 */

export const FIT_STEPS = 3;

/** The band's content is wider than the band (or the clipboard's part is cut). */
export function overflowing(band: HTMLElement): boolean {
  if (band.scrollWidth > band.clientWidth + 0.5) return true;
  for (const part of band.querySelectorAll<HTMLElement>('[data-fit-watch]')) if (part.scrollWidth > part.clientWidth + 0.5) return true;
  return false;
}

/** Sets the band to the first step at which it fits (or the last); returns that step. */
export function fitBand(band: HTMLElement, isOverflowing: (band: HTMLElement) => boolean = overflowing): number {
  let step = 0;
  for (;;) {
    for (let s = 1; s <= FIT_STEPS; s++) band.toggleAttribute(`data-fit${s}`, s <= step);
    band.dataset.fit = String(step);
    if (step >= FIT_STEPS || !isOverflowing(band)) return step;
    step++;
  }
}

/**
 * Keeps `band` fitted: now, and whenever it or one of its direct parts changes size (a part comes
 * or goes, a label changes language, the window is resized). Returns the stop function.
 */
export function keepBandFitted(band: HTMLElement): () => void {
  const refit = () => fitBand(band);
  const sizes = new ResizeObserver(refit);
  const watchParts = () => {
    sizes.disconnect();
    sizes.observe(band);
    for (const part of band.children) sizes.observe(part);
  };
  const parts = new MutationObserver(watchParts);
  parts.observe(band, { childList: true });
  watchParts();
  refit();
  return () => {
    sizes.disconnect();
    parts.disconnect();
  };
}
