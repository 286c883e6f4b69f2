/**
 * Test tools for documents opened in real cages (cageOpenDocuments.test.ts, pdfFirstPaint.test.ts):
 * the embedded policy's applications of a level, and a small valid PDF (cageApps.test.ts's too).
 */
import type { AppPolicy } from '../../shared/policy';
import { DEFAULT_POLICY_NAME, DEFAULT_POLICY_YAML } from '../policy/defaultPolicy';
import { parsePolicy } from '../policy/policyLoader';

/** The embedded policy's apps of a level, none started with the cage (the test opens them). */
export function embeddedLevelApps(level: string): AppPolicy[] {
  // The default cage uids are not the test's: parsed as the part does, without asking the name service.
  const policy = parsePolicy(DEFAULT_POLICY_YAML, DEFAULT_POLICY_NAME, 'part');
  const cage = policy.levels.find((l) => l.id === level)!.cage;
  if (cage.driver !== 'bwrap') throw new Error('the embedded policy has bwrap cages');
  return cage.apps.map((app) => ({ ...app, autostart: false }));
}

/**
 * A one-page PDF, its cross-reference table right: a page of `size` points (200×200 by default),
 * empty, or drawn by `content` (a PDF content stream; its font F1 is Helvetica, which every PDF
 * reader has).
 */
export function onePagePdf(content = '', [width, height]: [number, number] = [200, 200]): string {
  const page = `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 ${width} ${height}]`;
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    ...(content === ''
      ? [`${page} >>`]
      : [`${page} /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>`, `<< /Length ${content.length} >>\nstream\n${content}\nendstream`, '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>']),
  ];
  let text = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((o, i) => {
    offsets.push(text.length);
    text += `${i + 1} 0 obj\n${o}\nendobj\n`;
  });
  const xref = text.length;
  text += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('')}`;
  return `${text}trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
}
