// @vitest-environment jsdom
/**
 * The transfer dialog and the confirmation, drawn by React in a page (issue #26): the listing hides
 * the cage's dot files until the toggle shows them, Escape closes the dialog, and the confirmation
 * says « 1 page », « 1 octet » — and Enter pressed as it opens confirms nothing.
 */
import { act } from 'react';
import { createRoot, type Root } from 'react-dom/client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { FilesConfirmRequest } from '../../shared/rpc';
import { ShellContext, type ShellContextValue } from '../shellContext';
import { createShellStore, type Locale } from '../store/shellStore';
import type { ShellApi } from '../transport/shellApi';
import { ConfirmDialog } from './ConfirmDialog';
import { FileTransferDialog } from './FileTransferDialog';
import { DIALOG_ARMING_MS } from './useArmedAfter';

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

const LEVELS = [
  { id: 'low', rank: 0, label: { fr: 'Bas', en: 'Low' }, colour: '#1b7f3b', textColour: '#fff', hostNetwork: false },
  { id: 'high', rank: 1, label: { fr: 'Haut', en: 'High' }, colour: '#b3261e', textColour: '#fff', hostNetwork: false },
];
const HOME = [
  { path: '.cache', name: '.cache', kind: 'dir', size: 0 },
  { path: '.cloison-pulse.log', name: '.cloison-pulse.log', kind: 'file', size: 10 },
  { path: '.cloison-session.log', name: '.cloison-session.log', kind: 'file', size: 10 },
  { path: 'rapport.pdf', name: 'rapport.pdf', kind: 'file', size: 1 },
];

function setUp(locale: Locale) {
  const store = createShellStore(locale);
  store.setState({ levels: LEVELS, front: 'low', trust: { phrase: 'ma phrase', symbol: null } });
  const calls: { method: string; params: unknown }[] = [];
  const api = {
    call: vi.fn((method: string, params: unknown) => {
      calls.push({ method, params });
      if (method === 'files.list') return Promise.resolve({ entries: HOME });
      if (method === 'files.rule') return Promise.resolve({ decision: 'ask', justificationNeeded: false, encryptTo: [] });
      return Promise.resolve({});
    }),
    on: () => () => undefined,
  } as unknown as ShellApi;
  const value: ShellContextValue = { store, api, switchTo: () => undefined, clipboard: { copyOut: () => undefined, pasteIn: () => undefined } };
  return { store, api, calls, value };
}

describe('the transfer dialog and its confirmation', () => {
  let host: HTMLDivElement;
  let root: Root;
  beforeEach(() => {
    host = document.createElement('div');
    document.body.append(host);
    root = createRoot(host);
  });
  afterEach(async () => {
    await act(async () => root.unmount());
    host.remove();
    vi.useRealTimers();
  });
  const render = async (value: ShellContextValue) => {
    await act(async () => {
      root.render(
        <ShellContext.Provider value={value}>
          <FileTransferDialog />
          <ConfirmDialog />
        </ShellContext.Provider>,
      );
    });
  };
  const q = (id: string) => host.querySelector<HTMLElement>(`[data-testid="${id}"]`);
  const listed = () => [...host.querySelectorAll('[data-testid="transfer-entries"] .files__name')].map((e) => e.textContent);

  it('lists the user’s files, the dot files hidden behind a toggle that says how many', async () => {
    const { store, value } = setUp('fr');
    store.getState().openTransfer('low');
    await render(value);
    expect(listed()).toEqual(['rapport.pdf']);
    const toggle = q('transfer-show-hidden') as HTMLInputElement;
    expect(toggle.checked).toBe(false);
    expect(toggle.parentElement!.textContent).toBe('Afficher les fichiers cachés (3 cachés)');
    await act(async () => toggle.click());
    expect(listed()).toEqual(['.cache/', '.cloison-pulse.log', '.cloison-session.log', 'rapport.pdf']);
    // A hidden file chosen, then hidden again: it is let go, not sent unseen.
    await act(async () => (q('pick-.cloison-pulse.log') as HTMLInputElement).click());
    await act(async () => toggle.click());
    expect(listed()).toEqual(['rapport.pdf']);
    expect((q('transfer-send') as HTMLButtonElement).disabled).toBe(true);
  });

  it('English: “Show hidden files”, and Escape closes the dialog as its button says', async () => {
    const { store, value } = setUp('en');
    store.getState().openTransfer('low');
    await render(value);
    expect(q('transfer-show-hidden')!.parentElement!.textContent).toBe('Show hidden files (3 hidden)');
    expect(q('transfer-close')!.textContent).toBe('Close (Esc)');
    expect(q('transfer-dialog')!.contains(document.activeElement)).toBe(true);
    await act(async () => document.activeElement!.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape', bubbles: true, cancelable: true })));
    expect(store.getState().transferFrom).toBeNull();
    expect(q('transfer-dialog')).toBeNull();
  });

  const converted = (pages: number, size: number): FilesConfirmRequest =>
    ({
      kind: 'files', id: 'c1', from: 'low', to: 'high', direction: 'up', totalBytes: 1, refused: [],
      files: [{ name: 'rapport.pdf', type: 'pdf', size: 1, converted: { landAs: 'rapport.pdf', pages, size, thumbnails: [] } }],
    }) as unknown as FilesConfirmRequest;

  it('says « 1 page », « 1 octet » (and “1 page”, “2 pages” in English)', async () => {
    const fr = setUp('fr');
    fr.store.getState().askConfirmation(converted(1, 1));
    await render(fr.value);
    expect(q('confirm-converted')!.textContent).toContain('arrivera comme rapport.pdf · 1 page · 1 octet');
    expect(q('confirm-files')!.textContent).not.toContain('pages');
    const en = setUp('en');
    en.store.getState().askConfirmation(converted(2, 2));
    await render(en.value);
    expect(q('confirm-converted')!.textContent).toContain('will arrive as rapport.pdf · 2 pages · 2 bytes');
  });

  it('Enter pressed as the confirmation opens confirms nothing; Escape, once armed, refuses', async () => {
    vi.useFakeTimers();
    const { store, value, calls } = setUp('fr');
    store.getState().askConfirmation(converted(1, 1));
    await render(value);
    // The keyboard starts on Refuse; a key meant for a cage lands there.
    expect(document.activeElement).toBe(q('confirm-refuse'));
    const enter = () => {
      const target = document.activeElement as HTMLElement;
      target.dispatchEvent(new KeyboardEvent('keydown', { key: 'Enter', bubbles: true, cancelable: true }));
      target.click(); // what Enter does on a focused button
    };
    await act(async () => enter());
    expect(calls.filter((c) => c.method === 'confirm.answer')).toEqual([]);
    await act(async () => vi.advanceTimersByTime(DIALOG_ARMING_MS + 10));
    await act(async () => document.activeElement!.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape', bubbles: true, cancelable: true })));
    expect(calls.filter((c) => c.method === 'confirm.answer')).toEqual([{ method: 'confirm.answer', params: { id: 'c1', accept: false } }]);
  });
});
