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

/** The band's content is wider than the band (its parts keep their widths: styles.css). */
export function overflowing(band: HTMLElement): boolean {
  return band.scrollWidth > band.clientWidth + 0.5;
}

/** Puts the band at `step`: the attributes of that step and every one before it. */
export function setFitStep(band: HTMLElement, step: number): void {
  for (let s = 1; s <= FIT_STEPS; s++) band.toggleAttribute(`data-fit${s}`, s <= step);
  band.dataset.fit = String(step);
}

/** Sets the band to the first step at which it fits (or the last); returns that step. */
export function fitBand(band: HTMLElement, isOverflowing: (band: HTMLElement) => boolean = overflowing): number {
  for (let step = 0; ; step++) {
    setFitStep(band, step);
    if (step >= FIT_STEPS || !isOverflowing(band)) return step;
  }
}

/**
 * The width the band's parts take side by side (their boxes, their margins but the auto one that
 * pushes the menu to the right, the gaps, the padding): read from the layout as it stands.
 */
export function contentWidth(band: HTMLElement): number {
  const style = getComputedStyle(band);
  const parts = [...band.children] as HTMLElement[];
  let width = parseFloat(style.paddingLeft) + parseFloat(style.paddingRight) + parseFloat(style.columnGap || '0') * Math.max(0, parts.length - 1);
  for (const part of parts) {
    const own = getComputedStyle(part);
    width += part.getBoundingClientRect().width + parseFloat(own.marginRight) + (part.classList.contains('band__hint') ? 0 : parseFloat(own.marginLeft));
  }
  return width;
}

/**
 * Keeps `band` fitted: now, and whenever it or one of its direct parts changes size (a part comes
 * or goes, a label changes language, the window is resized). Returns the stop function.
 *
 * A change that leaves the band fitting at its step with no room for the step before costs one
 * read of the layout as it stands (a level switch changes the name's width): the steps are tried
 * again only when the band overflows, or when the parts' width plus what the last step saved would
 * fit (room came back; the estimate only decides when to measure, never what is shown).
 */
export function keepBandFitted(band: HTMLElement): () => void {
  // What the current step saved: the content's width at the step before minus its width at this one.
  let saved = 0;
  const refit = () => {
    const step = fitBand(band);
    saved = 0;
    if (step === 0) return;
    setFitStep(band, step - 1);
    const before = contentWidth(band);
    setFitStep(band, step);
    saved = Math.max(0, before - contentWidth(band));
  };
  const check = () => {
    const step = Number(band.dataset.fit ?? 0);
    if (overflowing(band)) return refit();
    if (step > 0 && contentWidth(band) + saved <= band.clientWidth) refit();
  };
  const sizes = new ResizeObserver(check);
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
