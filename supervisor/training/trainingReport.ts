/**
 * The session report, per trainee: what each drill asked, whether it was passed, how fast, what
 * was typed into a look-alike, and what to review — as JSON for the trainer's tools and as a
 * printable HTML page. Written where the trainer asked, never into a cage.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DrillResult, Scenario, TrainingText } from '../../shared/trainingScenario';

export interface TrainingReport {
  scenario: string;
  trainee: string;
  startedAt: string;
  finishedAt: string;
  passed: number;
  /** Drills run: fewer than the scenario's when the trainer stopped the session early. */
  total: number;
  inScenario: number;
  drills: DrillResult[];
  toReview: TrainingText[];
}

export function buildReport(scenario: Scenario, trainee: string, startedAt: Date, results: DrillResult[], now = new Date()): TrainingReport {
  return {
    scenario: scenario.title.fr,
    trainee,
    startedAt: startedAt.toISOString(),
    finishedAt: now.toISOString(),
    passed: results.filter((r) => r.passed).length,
    total: results.length,
    inScenario: scenario.drills.length,
    drills: results,
    toReview: [...new Map(results.flatMap((r) => (r.review ? [[r.review.en, r.review] as const] : []))).values()],
  };
}

/** Writes `<trainee>-<time>.json` and `.html` in `dir`; returns the HTML's path. */
export function writeReport(dir: string, report: TrainingReport): string {
  mkdirSync(dir, { recursive: true, mode: 0o750 });
  const base = join(dir, `${report.trainee.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 40) || 'trainee'}-${report.finishedAt.replace(/[:.]/g, '-')}`);
  writeFileSync(`${base}.json`, `${JSON.stringify(report, null, 2)}\n`, { mode: 0o640 });
  writeFileSync(`${base}.html`, reportHtml(report), { mode: 0o640 });
  return `${base}.html`;
}

const KIND_NAMES: Record<DrillResult['kind'], TrainingText> = {
  spoof: { fr: 'Imitation', en: 'Look-alike' },
  'right-level': { fr: 'Bon niveau', en: 'Right level' },
  downgrade: { fr: 'Demande de descente', en: 'Downgrade request' },
  usb: { fr: 'Clé USB', en: 'USB key' },
};

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** French first (the trainee's), English under it for the trainer's colleagues. */
function both(text: TrainingText): string {
  return `${escape(text.fr)}<br><span class="en" lang="en">${escape(text.en)}</span>`;
}

export function reportHtml(r: TrainingReport): string {
  const rows = r.drills
    .map(
      (d) => `<tr class="${d.passed ? 'ok' : 'missed'}"><td>${d.index + 1}</td><td>${both(KIND_NAMES[d.kind])}</td><td>${d.passed ? 'réussi / passed' : 'à revoir / missed'}</td><td>${d.seconds === null ? '—' : `${d.seconds} s`}</td><td>${d.typedIntoFake === null ? '—' : d.typedIntoFake}</td><td>${both(d.details)}</td></tr>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>Cloison training — ${escape(r.trainee)}</title>
<style>
body { font-family: 'DejaVu Sans', sans-serif; margin: 2em; color: #111; }
h1 { font-size: 1.4em; } .mark { background: repeating-linear-gradient(45deg, #f2c200 0 12px, #111 12px 24px); color: #fff; padding: 4px 10px; font-weight: 700; }
table { border-collapse: collapse; width: 100%; } td, th { border: 1px solid #999; padding: 4px 8px; text-align: left; vertical-align: top; }
.en { color: #555; font-size: 0.9em; }
tr.missed td:nth-child(3) { color: #a00; font-weight: 700; } tr.ok td:nth-child(3) { color: #060; }
@media print { .mark { -webkit-print-color-adjust: exact; print-color-adjust: exact; } }
</style></head><body>
<p><span class="mark">FORMATION / TRAINING</span></p>
<h1>${escape(r.scenario)}</h1>
<p>Stagiaire / Trainee: <strong>${escape(r.trainee)}</strong> · ${escape(r.startedAt)} → ${escape(r.finishedAt)} · <strong>${r.passed} / ${r.total}</strong> exercices réussis / drills passed${r.total < r.inScenario ? ` — arrêtée après ${r.total} exercices sur ${r.inScenario} / stopped after ${r.total} of ${r.inScenario} drills` : ''}</p>
<table><thead><tr><th>#</th><th>Exercice / Drill</th><th>Résultat / Outcome</th><th>Temps / Time</th><th>Tapé dans un faux / Typed into a fake</th><th>Ce qui s'est passé / What happened</th></tr></thead>
<tbody>
${rows}
</tbody></table>
<h2>À revoir / To review</h2>
${r.toReview.length ? `<ul>${r.toReview.map((t) => `<li>${both(t)}</li>`).join('')}</ul>` : '<p>Rien : tout est réussi.<br><span class="en">Nothing: every drill was passed.</span></p>'}
</body></html>
`;
}
