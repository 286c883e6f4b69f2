/**
 * The tunnel of the level in front, in its band: up with the last handshake's age, connecting, or
 * down/failed with the supervisor's reason — measured by the supervisor from the tunnel itself,
 * never said by the cage (trusted path, property 2).
 */
import type { TunnelView } from '../../shared/rpc';
import { textFor } from '../i18n';
import { useShellState } from '../shellContext';
import { supervisorText } from '../supervisorText';

export function TunnelState({ tunnel }: { tunnel: TunnelView }) {
  const locale = useShellState((s) => s.locale);
  const t = textFor(locale).tunnel;
  const age = tunnel.handshakeAgeSeconds === null ? '' : ` · ${t.handshake} ${tunnel.handshakeAgeSeconds} s`;
  const ok = tunnel.state === 'up';
  return (
    <span className={ok ? 'band__tunnel' : 'band__warning band__tunnel'} data-testid="band-tunnel" data-state={tunnel.state} title={`${t.explain} ${tunnel.endpoint}${tunnel.reason ? ` — ${supervisorText(locale, tunnel.reasonText, tunnel.reason)}` : ''}`}>
      {ok ? '✓' : '⚠'} <span className="band__word">{t.states[tunnel.state]}</span>
      {ok && age ? <span className="band__age">{age}</span> : null}
    </span>
  );
}
