/**
 * The device tray in the band: how many USB storage devices are plugged, and on click the list —
 * each with its state, the level it is attached to (in that level's colour) and its folder in the
 * cage, with Eject, or Attach… for one that is not attached. After an eject the tray says the
 * device may be pulled out.
 */
import { useRef } from 'react';
import type { DeviceView } from '../../shared/rpc';
import { textFor } from '../i18n';
import { errorText, supervisorText } from '../supervisorText';
import { useShell, useShellState } from '../shellContext';
import { levelById } from '../store/shellStore';
import { deviceTitle, formatSize } from './deviceIdentity';
import { VisibleText } from './VisibleText';
import { useDialogKeys } from './dialogKeys';

export function DeviceTray() {
  const { store } = useShell();
  const devices = useShellState((s) => s.devices);
  const open = useShellState((s) => s.trayOpen);
  const t = textFor(useShellState((s) => s.locale)).usb;
  const attached = devices.filter((d) => d.state === 'attached').length;
  const panel = useRef<HTMLDivElement>(null);
  useDialogKeys(panel, { onEscape: () => store.getState().setTrayOpen(false) }, open);
  return (
    <div className="tray">
      <button
        type="button"
        className="band__menu tray__button"
        data-testid="device-tray"
        aria-expanded={open}
        title={t.trayTitle}
        onClick={() => store.getState().setTrayOpen(!open)}
        onKeyDown={(e) => {
          if (e.key === 'Escape') store.getState().setTrayOpen(false);
        }}
      >
        {t.tray} <span data-testid="device-tray-count">{attached}/{devices.length}</span>
      </button>
      {open ? (
        <div ref={panel} className="tray__panel" data-testid="device-tray-panel" role="dialog" aria-label={t.trayTitle}>
          <div className="tray__title">{t.trayTitle}</div>
          {devices.length === 0 ? <div className="tray__empty">{t.none}</div> : devices.map((d) => <TrayRow key={d.id} device={d} />)}
        </div>
      ) : null}
    </div>
  );
}

function TrayRow({ device }: { device: DeviceView }) {
  const { api, store } = useShell();
  const levels = useShellState((s) => s.levels);
  const locale = useShellState((s) => s.locale);
  const t = textFor(locale).usb;
  const level = levelById(levels, device.level);
  const eject = () =>
    api.call('devices.eject', { id: device.id }).then(
      () => store.getState().setNotice(t.ejected, 'ok', device.level ?? null),
      (err: Error) => store.getState().setNotice(errorText(store.getState().locale, err), 'refused', device.level ?? null),
    );
  // Both erase the key: the supervisor asks the user in its trusted dialog before doing anything.
  const mark = (levelId: string) => {
    store.getState().setTrayOpen(false);
    api.call('devices.mark', { id: device.id, level: levelId }).then(
      (view) => view.mark.status === 'valid' && store.getState().setNotice(`${t.marked} ${levelById(levels, levelId)?.label[locale] ?? levelId}`, 'ok', levelId),
      (err: Error) => store.getState().setNotice(errorText(store.getState().locale, err), 'refused', levelId),
    );
  };
  const unmark = () => {
    store.getState().setTrayOpen(false);
    api.call('devices.unmark', { id: device.id }).then(
      (view) => view.mark.status === 'none' && store.getState().setNotice(t.unmarked, 'ok', device.mark.level ?? null),
      (err: Error) => store.getState().setNotice(errorText(store.getState().locale, err), 'refused', device.mark.level ?? null),
    );
  };
  const preparable = ['waiting', 'detached', 'unusable', 'ignored'].includes(device.state);
  const markedLevel = levelById(levels, device.mark.level);
  return (
    <div className="tray__row" data-testid={`tray-device-${device.id}`} data-state={device.state}>
      <div className="tray__what">
        <span className="tray__name">
          <VisibleText text={deviceTitle(device)} />
        </span>
        <span className="tray__meta">
          <VisibleText text={device.product} /> · {formatSize(device.sizeBytes)} · {device.fsType ?? '—'}
        </span>
      </div>
      <div className="tray__where">
        {device.state === 'attached' && level ? (
          <>
            <span className="chip" style={{ backgroundColor: level.colour, color: level.textColour }}>
              {level.label[locale]}
            </span>{' '}
            {device.mode ? t.modes[device.mode] : ''} · {t.seenAs} <code data-testid="tray-folder">~/Media/{device.mediaName}</code>
          </>
        ) : (
          <span>{t.states[device.state]}</span>
        )}
        {device.state === 'detached' && device.safeToRemove ? <span className="tray__safe" data-testid="tray-safe"> · {t.safeToRemove}</span> : null}
        <div className="tray__mark" data-testid="tray-mark" data-mark={device.mark.status}>
          {t.marks[device.mark.status]}
          {markedLevel ? (
            <>
              {' '}
              <span className="chip" style={{ backgroundColor: markedLevel.colour, color: markedLevel.textColour }}>
                {markedLevel.label[locale]}
              </span>
            </>
          ) : null}
        </div>
        {device.problem ? <div className="tray__problem">{supervisorText(locale, device.problemText, device.problem)}</div> : null}
        {preparable && device.mark.status !== 'valid' ? (
          <div className="tray__marking">
            {levels.map((l) => (
              <button key={l.id} type="button" className="link" data-testid={`tray-mark-${l.id}`} onClick={() => mark(l.id)}>
                {t.markFor} {l.label[locale]}…
              </button>
            ))}
          </div>
        ) : null}
        {preparable && device.mark.status !== 'none' ? (
          <div className="tray__marking">
            <button type="button" className="link" data-testid="tray-unmark" onClick={unmark}>
              {t.unmark}…
            </button>
          </div>
        ) : null}
      </div>
      <div className="tray__actions">
        {device.state === 'attached' ? (
          <button type="button" className="button" data-testid="tray-eject" onClick={() => void eject()}>
            {t.eject}
          </button>
        ) : null}
        {(device.state === 'detached' || device.state === 'waiting') && device.choices.length > 0 ? (
          <button type="button" className="button" data-testid="tray-attach" onClick={() => store.getState().openAssign(device.id)}>
            {t.attach}
          </button>
        ) : null}
      </div>
    </div>
  );
}
