/**
 * The trainer's flow view: the journal drawn live. Each level is a lane in its colour; each
 * crossing an arrow from its lane to the other's (a key or the microphone arrives from outside, a
 * report is a flag on its lane), labelled with what it was, its size, what was decided and by whom
 * — green when it went through, red when it was stopped. Metadata only, as the journal holds it.
 */
import type { FlowItem } from '../../shared/rpc';
import { textFor } from '../i18n';
import { useShellState } from '../shellContext';
import { formatSize } from './deviceIdentity';

const ROW = 34;
const WENT_THROUGH = new Set(['pasted', 'copied', 'attach read-write', 'attach read-only', 'assign', 'report']);

export function FlowView() {
  const flows = useShellState((s) => s.flows);
  const levels = useShellState((s) => s.levels);
  const locale = useShellState((s) => s.locale);
  const t = textFor(locale).training;
  const width = 300;
  const lanes = levels.length + 1; // the outside, then each level
  const laneX = (id: string | null) => {
    const i = levels.findIndex((l) => l.id === id);
    return ((i < 0 ? 0 : i + 1) + 0.5) * (width / lanes);
  };
  const height = Math.max(ROW * 2, ROW * (flows.length + 1));
  return (
    <svg className="flow" data-testid="flow-view" data-count={flows.length} width={width} height={height} viewBox={`0 0 ${width} ${height}`} role="img" aria-label="flows">
      <text x={laneX(null)} y={14} textAnchor="middle" fontSize="11" fill="#555">
        {t.outside}
      </text>
      {levels.map((l) => (
        <g key={l.id}>
          <rect x={laneX(l.id) - 6} y={20} width={12} height={height - 20} fill={l.colour} />
          <text x={laneX(l.id)} y={14} textAnchor="middle" fontSize="11" fontWeight="700" fill="#111">
            {l.label[locale]}
          </text>
        </g>
      ))}
      {flows.map((f, i) => (
        <FlowArrow key={f.seq} item={f} label={flowLabel(f, t)} y={ROW * (i + 1) + 10} from={laneX(f.kind === 'usb' || f.kind === 'microphone' ? null : f.from)} to={laneX(f.kind === 'report' ? f.from : f.to)} />
      ))}
    </svg>
  );
}

/** What, how much, what was decided, by whom — the report's flag needs only its name. */
function flowLabel(item: FlowItem, t: ReturnType<typeof textFor>['training']): string {
  const what = t.flowKinds[item.kind];
  if (item.kind === 'report') return `${what} · ${t.actors[item.actor] ?? item.actor}`;
  return `${what}${item.bytes !== null ? ` ${formatSize(item.bytes)}` : ''} · ${t.decisions[item.decision] ?? item.decision} · ${t.actors[item.actor] ?? item.actor}`;
}

function FlowArrow({ item, label, y, from, to }: { item: FlowItem; label: string; y: number; from: number; to: number }) {
  const ok = WENT_THROUGH.has(item.decision);
  const colour = ok ? '#1b6e2a' : '#b00000';
  const dir = to >= from ? 1 : -1;
  return (
    <g data-testid="flow-item" data-kind={item.kind} data-decision={item.decision}>
      {from === to ? <circle cx={to} cy={y} r={6} fill={colour} /> : <line x1={from} y1={y} x2={to - dir * 6} y2={y} stroke={colour} strokeWidth={3} />}
      {from === to ? null : <polygon points={`${to},${y} ${to - dir * 10},${y - 5} ${to - dir * 10},${y + 5}`} fill={colour} />}
      {/* A halo in the panel's colour keeps the label readable over the lanes. */}
      <text x={4} y={y + 14} fontSize="10" fill="#222" stroke="#f4f1e6" strokeWidth={3} paintOrder="stroke">
        {label}
      </text>
    </g>
  );
}
