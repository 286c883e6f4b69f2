// Renders assets/icon.svg (the source) to the PNG sizes the .deb, the desktop entry and the window
// use, with Debian's Chromium: node scripts/renderIcons.mjs. The PNGs are committed beside it.
import { readFileSync } from 'node:fs';
import { chromium } from '@playwright/test';

export const ICON_SIZES = [16, 24, 32, 48, 64, 128, 256, 512];

const svg = readFileSync('assets/icon.svg', 'utf8');
const browser = await chromium.launch({ executablePath: '/usr/bin/chromium' });
try {
  for (const size of ICON_SIZES) {
    const page = await browser.newPage({ viewport: { width: size, height: size } });
    await page.setContent(`<html><body style="margin:0;background:transparent">${svg.replace('width="512" height="512"', `width="${size}" height="${size}"`)}</body></html>`);
    await page.screenshot({ path: `assets/icons/${size}x${size}.png`, omitBackground: true, clip: { x: 0, y: 0, width: size, height: size } });
    await page.close();
  }
} finally {
  await browser.close();
}
