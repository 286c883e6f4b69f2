/**
 * The stop notice's specs' cages (stopNotice.spec.ts, stopNoticeReload.spec.ts): low runs a
 * terminal (it closes at once when asked), high runs xedit (asked to close with unsaved text, it
 * stays, asking to save) and may take `boundS` seconds to close; the supervisor under `lang`.
 */
import { bwrapCage, twoLevelPolicy } from '../../supervisor/testing/testPolicy';
import { startSupervisor } from './supervisorProcess';

export function startStopNoticeCages(lang: string, uids: { low: number; high: number }, boundS: number): ReturnType<typeof startSupervisor> {
  return startSupervisor(
    twoLevelPolicy({
      low: bwrapCage({ uid: uids.low, geometry: 'auto', apps: '[[xterm, -geometry, 80x20+0+0]]' }),
      high: bwrapCage({ uid: uids.high, geometry: 'auto', apps: '[[xedit, -geometry, 700x500+20+20]]' }).replace(/ }$/, `, appQuitSeconds: ${boundS} }`),
    }),
    { env: { LANG: lang, LC_ALL: '', LC_MESSAGES: '' } },
  );
}
