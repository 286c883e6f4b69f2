// @vitest-environment jsdom
/**
 * The shell's one keyboard mechanism for its trusted surfaces (dialogKeys.ts, issue #26): focus in
 * when one opens, Escape to the topmost only, Tab kept inside, focus back when it closes.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { openDialogKeys, openSurfaceCount, tabbables } from './dialogKeys';

function key(k: string, init: KeyboardEventInit = {}): KeyboardEvent {
  const event = new KeyboardEvent('keydown', { key: k, bubbles: true, cancelable: true, ...init });
  (document.activeElement ?? document.body).dispatchEvent(event);
  return event;
}

function page() {
  document.body.innerHTML = `<main id="stage" tabindex="0"></main>
    <div id="transfer"><input type="radio" name="dest" id="to-high" checked><input type="radio" name="dest" id="to-mid"><button id="home">home</button><button id="off" disabled>x</button><button id="close">close</button></div>
    <div id="confirm"><button id="refuse">refuse</button><button id="accept">accept</button></div>`;
  const get = (id: string) => document.getElementById(id)!;
  return { stage: get('stage'), transfer: get('transfer'), confirm: get('confirm'), get };
}

describe('dialog keys', () => {
  const closers: (() => void)[] = [];
  afterEach(() => {
    while (closers.length) closers.pop()!();
    document.body.innerHTML = '';
  });
  const open = (el: HTMLElement, onEscape: (() => void) | null) => {
    const close = openDialogKeys(el, { current: { onEscape } });
    closers.push(close);
    return () => {
      closers.splice(closers.indexOf(close), 1);
      close();
    };
  };

  it('moves the focus into the surface as it opens: keys typed next are not the stage’s', () => {
    const { stage, transfer } = page();
    stage.focus();
    open(transfer, null);
    expect(document.activeElement).toBe(transfer);
  });

  it('leaves the focus on the control the surface focused itself (autoFocus on Refuse)', () => {
    const { stage, confirm, get } = page();
    stage.focus();
    get('refuse').focus();
    open(confirm, null);
    expect(document.activeElement).toBe(get('refuse'));
  });

  it('gives Escape to the topmost surface only, wherever the focus is, and keeps it from the page below', () => {
    const { transfer, confirm, stage } = page();
    const closeTransfer = vi.fn();
    const refuse = vi.fn();
    open(transfer, closeTransfer);
    open(confirm, refuse);
    const below = vi.fn();
    stage.addEventListener('keydown', below);
    stage.focus();
    const event = key('Escape');
    expect(refuse).toHaveBeenCalledTimes(1);
    expect(closeTransfer).not.toHaveBeenCalled();
    expect(below).not.toHaveBeenCalled();
    expect(event.defaultPrevented).toBe(true);
    key('Escape', { repeat: true });
    expect(refuse).toHaveBeenCalledTimes(1); // an auto-repeat does not close the next one down
  });

  it('a surface with no Escape (the first trust phrase) swallows it and stays', () => {
    const { transfer } = page();
    open(transfer, null);
    expect(key('Escape').defaultPrevented).toBe(true);
    expect(openSurfaceCount()).toBe(1);
  });

  it('keeps Tab inside: from the last control to the first, Shift+Tab from the first to the last, skipping disabled ones and unchecked radios', () => {
    const { transfer, get } = page();
    open(transfer, null);
    expect(tabbables(transfer).map((e) => e.id)).toEqual(['to-high', 'home', 'close']);
    get('close').focus();
    expect(key('Tab').defaultPrevented).toBe(true);
    expect(document.activeElement).toBe(get('to-high'));
    key('Tab', { shiftKey: true });
    expect(document.activeElement).toBe(get('close'));
    // From the surface itself (as it opened), Shift+Tab goes to its last control.
    transfer.focus();
    key('Tab', { shiftKey: true });
    expect(document.activeElement).toBe(get('close'));
    // In the middle the browser's own Tab order is left alone.
    get('home').focus();
    expect(key('Tab').defaultPrevented).toBe(false);
  });

  it('brings a focus found outside back in on Tab', () => {
    const { transfer, stage, get } = page();
    open(transfer, null);
    stage.focus();
    key('Tab');
    expect(document.activeElement).toBe(get('to-high'));
  });

  it('on close gives the focus to the surface below, then back to where it was before (the stage)', () => {
    const { transfer, confirm, stage, get } = page();
    stage.focus();
    const closeTransfer = open(transfer, null);
    get('refuse').focus();
    const closeConfirm = open(confirm, null);
    confirm.remove(); // React removes the node, then runs the effect's cleanup
    closeConfirm();
    expect(document.activeElement).toBe(transfer);
    transfer.remove();
    closeTransfer();
    expect(document.activeElement).toBe(stage);
    expect(openSurfaceCount()).toBe(0);
  });

  it('does nothing to keys once every surface is closed: Escape and Tab reach the stage', () => {
    const { transfer, stage } = page();
    open(transfer, vi.fn())();
    stage.focus();
    const heard: string[] = [];
    stage.addEventListener('keydown', (e) => heard.push(e.key));
    key('Escape');
    key('Tab');
    expect(heard).toEqual(['Escape', 'Tab']);
  });
});
