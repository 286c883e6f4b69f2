import { test } from '@playwright/test';
import { launchShellBrowser, startHostDisplay } from './support/hostDisplay';
const PAGE = `data:text/html;charset=utf-8,${encodeURIComponent(`<body style="margin:0"><div id="d" tabindex="0" style="width:500px;height:300px;background:#ccc"></div><script>
window.log=[];for (const t of ['keydown','keyup','keypress','compositionstart','compositionupdate','compositionend','beforeinput','input']) d.addEventListener(t,(e)=>log.push(Math.round(performance.now())+' '+t+' '+(e.key??'')+' '+(e.code??'')+' '+(e.data??'')+' kc'+(e.keyCode??'')+' s'+(e.shiftKey?1:0)));
d.focus();</script>`)}`;
test('dbg', async () => {
  const d = await startHostDisplay({ layout: process.env.L ?? 'fr', variant: process.env.V });
  const s = await launchShellBrowser(d, { url: PAGE });
  await d.click(100,100);
  await d.key(...(process.env.K ?? 'dead_circumflex e dead_diaeresis i dead_circumflex space ISO_Level3_Shift+e').split(' '));
  await new Promise(r=>setTimeout(r,500));
  console.log((await s.page.evaluate(() => (window as any).log)).join('\n'));
  await s.close(); await d.stop();
});
