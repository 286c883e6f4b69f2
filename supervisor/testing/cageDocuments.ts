/**
 * Test tools for documents opened in real cages (cageOpenDocuments.test.ts, pdfFirstPaint.test.ts):
 * the embedded policy's applications of a level, and a small valid PDF.
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
 * A one-page PDF, its cross-reference table right: an empty 200×200 page, or a letter-size page
 * with a line of text in Helvetica (which every PDF reader has).
 */
export function onePagePdf(line?: string): string {
  const stream = line === undefined ? '' : `BT /F1 24 Tf 72 700 Td (${line}) Tj ET`;
  const objects =
    line === undefined
      ? ['<< /Type /Catalog /Pages 2 0 R >>', '<< /Type /Pages /Kids [3 0 R] /Count 1 >>', '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>']
      : [
          '<< /Type /Catalog /Pages 2 0 R >>',
          '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
          '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
          `<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`,
          '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
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
