/**
 * The shell's two clipboard actions, for the cage in front: copy out into the supervisor's
 * brokered clipboard, paste in through the policy (and the trusted dialog when it says `ask`).
 * The renderer never holds the text: only the supervisor does.
 */
import type { ShellStore } from './store/shellStore';
import type { ShellApi } from './transport/shellApi';
import { textFor } from './i18n';
import { errorText, supervisorText } from './supervisorText';

export function clipboardActions(api: ShellApi, store: ShellStore) {
  const t = () => textFor(store.getState().locale);
  const front = () => store.getState().front;
  const label = (id: string) => store.getState().levels.find((l) => l.id === id)?.label[store.getState().locale] ?? id;
  // Every outcome is about the level the action was for (in front when the keys were pressed),
  // whichever is in front when it comes back: it is drawn over that level's frame, never another's.
  const refused = (level: string) => (err: Error) => store.getState().setNotice(errorText(store.getState().locale, err), 'refused', level);
  return {
    copyOut() {
      const level = front();
      if (!level) return;
      api.call('clipboard.copy', { level }).then((held) => {
        const which = held.selection === 'primary' ? ` (${t().fromSelection})` : '';
        store.getState().setNotice(`${t().copied} ${label(level)}${which}${t().colon}${held.bytes} ${t().bytes}`, 'ok', level);
      }, refused(level));
    },
    pasteIn() {
      const level = front();
      if (!level) return;
      api.call('clipboard.paste', { level }).then((r) => {
        if (r.outcome === 'pasted') return store.getState().setNotice(`${t().pasted} ${label(level)}`, 'ok', level);
        store.getState().setNotice(`${t().notPasted}${t().colon}${supervisorText(store.getState().locale, r.reasonText, r.reason ?? r.outcome)}`, 'refused', level);
      }, refused(level));
    },
  };
}
