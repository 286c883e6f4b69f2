/**
 * The shell's two clipboard actions, for the cage in front: copy out into the supervisor's
 * brokered clipboard, paste in through the policy (and the trusted dialog when it says `ask`).
 * The renderer never holds the text: only the supervisor does.
 */
import type { ShellStore } from './store/shellStore';
import type { ShellApi } from './transport/shellApi';
import { textFor } from './i18n';

export function clipboardActions(api: ShellApi, store: ShellStore) {
  const t = () => textFor(store.getState().locale);
  const front = () => store.getState().front;
  const label = (id: string) => store.getState().levels.find((l) => l.id === id)?.label[store.getState().locale] ?? id;
  return {
    copyOut() {
      const level = front();
      if (!level) return;
      api.call('clipboard.copy', { level }).then(
        (held) => store.getState().setNotice(`${t().copied} ${label(level)} (${held.bytes} ${t().bytes})`, 'ok'),
        (err: Error) => store.getState().setNotice(err.message, 'refused'),
      );
    },
    pasteIn() {
      const level = front();
      if (!level) return;
      api.call('clipboard.paste', { level }).then(
        (r) => store.getState().setNotice(r.outcome === 'pasted' ? `${t().pasted} ${label(level)}` : `${t().notPasted}: ${r.reason ?? r.outcome}`, r.outcome === 'pasted' ? 'ok' : 'refused'),
        (err: Error) => store.getState().setNotice(err.message, 'refused'),
      );
    },
  };
}
