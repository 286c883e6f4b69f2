/**
 * The trusted USB assignment dialog (CLIP OS 4's core dialog): drawn by the shell when a device
 * waits for a decision, or when the user picks one in the tray. It shows what the device is, the
 * levels it may go to in their colours with their modes — only what the policy allows — and the
 * trust phrase. Like every trusted dialog it is deaf for its first 500 ms and the keyboard starts
 * on "Leave unattached".
 */
import { useRef } from 'react';
import type { DeviceTargetView, DeviceView } from '../../shared/rpc';
import { textFor } from '../i18n';
import { errorText, supervisorText } from '../supervisorText';
import { useShell, useShellState } from '../shellContext';
import { deviceToAssign, levelById } from '../store/shellStore';
import { DeviceIdentity } from './deviceIdentity';
import { TrustMarkView } from './TrustMarkView';
import { useArmedAfter } from './useArmedAfter';
import { useDialogKeys } from './dialogKeys';

export function DeviceAssignDialog() {
  const device = useShellState(deviceToAssign);
  if (!device) return null;
  return <AssignCard key={device.id} device={device} />;
}

function AssignCard({ device }: { device: DeviceView }) {
  const { api, store } = useShell();
  const levels = useShellState((s) => s.levels);
  const trust = useShellState((s) => s.trust);
  const locale = useShellState((s) => s.locale);
  const t = textFor(locale);
  const armed = useArmedAfter();
  const attach = (target: DeviceTargetView) => {
    if (!armed) return;
    store.getState().closeAssign();
    const level = levelById(levels, target.level);
    api.call('devices.attach', { id: device.id, ...target }).then(
      () => store.getState().setNotice(`${t.usb.attached} ${level?.label[locale] ?? target.level}`, 'ok', target.level),
      (err: Error) => store.getState().setNotice(`${t.usb.failed}${t.colon}${errorText(locale, err)}`, 'refused', target.level),
    );
  };
  const leave = () => {
    if (!armed) return;
    store.getState().closeAssign();
    if (device.state === 'waiting') void api.call('devices.dismiss', { id: device.id });
  };
  // Escape leaves it unattached (after the arming delay, as the button).
  const card = useRef<HTMLDivElement>(null);
  useDialogKeys(card, { onEscape: leave });
  return (
    <div ref={card} className="modal" data-testid="device-dialog" data-armed={armed} data-device={device.id} role="alertdialog" aria-modal="true">
      <div className="modal__card modal__card--wide">
        <h2 className="modal__title">{device.state === 'waiting' ? t.usb.dialogTitle : t.usb.assignTitle}</h2>
        <TrustMarkView trust={trust} testId="device-trust" />
        <DeviceIdentity device={device} />
        {device.problem ? <div className="modal__error" data-testid="device-problem">{supervisorText(locale, device.problemText, device.problem)}</div> : null}
        {device.boundTo ? <div className="crossing__what" data-testid="device-bound">{t.usb.boundNote}</div> : null}
        <div className="device-choices" data-testid="device-choices">
          {device.choices.map((target) => {
            const level = levelById(levels, target.level);
            if (!level) return null;
            const suggested = device.preselect?.level === target.level && device.preselect.mode === target.mode;
            return (
              <button
                key={`${target.level}-${target.mode}`}
                type="button"
                className={`device-choice${suggested ? ' device-choice--suggested' : ''}`}
                data-suggested={suggested}
                data-testid={`device-attach-${target.level}-${target.mode}`}
                style={{ backgroundColor: level.colour, color: level.textColour }}
                disabled={!armed}
                onClick={() => attach(target)}
              >
                <span className="device-choice__level">
                  {t.usb.attachTo} {level.label[locale]}
                </span>
                <span className="device-choice__mode">{t.usb.modes[target.mode]}</span>
                {suggested ? <span className="device-choice__note">★ {t.usb.suggested}</span> : null}
              </button>
            );
          })}
        </div>
        <div className="modal__actions">
          <button type="button" className="button" data-testid="device-leave" autoFocus onClick={leave}>
            {t.usb.leaveEsc}
          </button>
        </div>
      </div>
    </div>
  );
}
