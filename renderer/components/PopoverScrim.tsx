/**
 * While a menu the band opened is open (Applications, the USB tray), the shell covers every
 * frame with its own scrim, under the band and the menu (issue #26). A menu drawn beside a cage's
 * pixels sits where the cage can draw a look-alike: a row under the real drop-down, in its colours,
 * that reads as the menu's continuation ("anything inside a frame is the cage's"). Under the scrim
 * a cage's pixels are at most a fifth as bright as they are drawn: nothing next to the menu can
 * match its light surface, the menu is the only bright thing on the screen below the band.
 *
 * Input: no cage has the keyboard or the pointer while a menu is open (inputSuspended in
 * shellStore.ts); a press on the scrim closes the menu and goes to no cage, as Escape does.
 */
import { useShell, useShellState } from '../shellContext';

export function PopoverScrim() {
  const { store } = useShell();
  const open = useShellState((s) => s.trayOpen || s.appsOpen);
  if (!open) return null;
  const close = () => {
    store.getState().setTrayOpen(false);
    store.getState().setAppsOpen(false);
  };
  return (
    <div
      className="popover-scrim"
      data-testid="popover-scrim"
      aria-hidden="true"
      onMouseDown={(e) => {
        e.preventDefault();
        close();
      }}
    />
  );
}
