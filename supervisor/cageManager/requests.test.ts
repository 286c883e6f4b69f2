/**
 * The list of root requests and the page that prints it stay in step: every request is documented
 * with why it needs root, and the page names no request the protocol does not have.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { rootRequestSchema, rootRequestSchemas, WHY_ROOT } from './requests';

describe('root requests', () => {
  it('docs/least-privilege.md lists exactly the protocol\'s requests, each with its arguments', () => {
    const page = readFileSync('docs/least-privilege.md', 'utf8');
    const listed = [...page.matchAll(/^\| `([a-z]+\.[a-zA-Z]+)` \| ([^|]+) \|/gm)].map((m) => [m[1], m[2]!.trim()]);
    const expected = Object.entries(rootRequestSchemas).map(([op, schema]) => [op, Object.keys(schema.shape).filter((k) => k !== 'op').join(', ') || '—']);
    expect(listed).toEqual(expected);
    expect(Object.keys(WHY_ROOT)).toEqual(Object.keys(rootRequestSchemas));
  });

  it('a level id cannot carry a bwrap argument, a device cannot be any file', () => {
    expect(rootRequestSchema.safeParse({ op: 'cage.stop', level: 'high --bind / /' }).success).toBe(false);
    expect(rootRequestSchema.safeParse({ op: 'usb.probe', device: '/dev/../etc/shadow' }).success).toBe(false);
    expect(rootRequestSchema.safeParse({ op: 'xhelper.run', level: 'low', program: 'sh', args: [] }).success).toBe(false);
    expect(rootRequestSchema.safeParse({ op: 'xhelper.run', level: 'low', program: 'xclip', args: ['-o', '/etc/shadow'] }).success).toBe(false);
    expect(rootRequestSchema.safeParse({ op: 'cage.stop', level: 'low' }).success).toBe(true);
  });
});
