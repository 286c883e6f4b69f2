/**
 * What a USB device is, as the supervisor described it: every field it read from the device,
 * already sanitised there (invisibles shown as ⟨U+…⟩, length capped), shown as plain text.
 */
import { supervisorText } from '../supervisorText';
import type { DeviceView } from '../../shared/rpc';
import { textFor } from '../i18n';
import { useShellState } from '../shellContext';
import { VisibleText } from './VisibleText';

export function formatSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** A short name for lists: the volume label, else the product. */
export function deviceTitle(device: DeviceView): string {
  return device.label ?? (device.product || device.serial || device.id);
}

export function DeviceIdentity({ device }: { device: DeviceView }) {
  const locale = useShellState((s) => s.locale);
  const t = textFor(locale).usb;
  const none = t.noneValue;
  const ids = (name: string, id: string) => (id ? `${name || none} (${id})` : name || none);
  const rows: Array<[string, string, string]> = [
    ['vendor', t.vendor, ids(device.vendor, device.vendorId)],
    ['product', t.product, ids(device.product, device.productId)],
    ['serial', t.serial, device.serial || none],
    ['size', t.size, formatSize(device.sizeBytes)],
    ['filesystem', t.filesystem, device.fsType ?? none],
    ['label', t.label, device.label ?? none],
    ['uuid', t.uuid, device.uuid ?? none],
    ['mark', t.mark, `${t.marks[device.mark.status]}${device.mark.level ? ` ${device.mark.level}` : ''}${device.mark.reason ? ` — ${supervisorText(locale, device.mark.reasonText, device.mark.reason)}` : ''}`],
  ];
  return (
    <table className="identity" data-testid="device-identity">
      <tbody>
        {rows.map(([key, name, value]) => (
          <tr key={key}>
            <th>{name}</th>
            <td data-testid={`device-${key}`}>
              <VisibleText text={value} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
