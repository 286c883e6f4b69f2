/**
 * "Did you mean …?" for an unknown key in a policy or a scenario: an administrator who writes
 * `color:` (the policy says `colour`) or `geometery:` is told the key the schema takes there, not
 * only that theirs is unknown. The keys are the schema's own at that place — every shape a union
 * allows there, what a default or a transform wraps — and a suggestion is one not written yet, close
 * enough to be a typo (a letter or two apart, or the same but for case).
 */
import type { z } from 'zod';

interface Def {
  type: string;
  innerType?: z.core.$ZodType;
  in?: z.core.$ZodType;
  getter?: () => z.core.$ZodType;
  options?: z.core.$ZodType[];
  left?: z.core.$ZodType;
  right?: z.core.$ZodType;
  shape?: Record<string, z.core.$ZodType>;
  catchall?: z.core.$ZodType;
  element?: z.core.$ZodType;
  valueType?: z.core.$ZodType;
  items?: z.core.$ZodType[];
}

const defOf = (schema: z.core.$ZodType): Def => (schema as unknown as { _zod: { def: Def } })._zod.def;

/** Every key the schema accepts in the object at `path` (empty where it is no object). */
export function keysAcceptedAt(schema: z.core.$ZodType, path: ReadonlyArray<string | number>): Set<string> {
  const keys = new Set<string>();
  const walk = (s: z.core.$ZodType | undefined, rest: ReadonlyArray<string | number>, depth: number): void => {
    if (!s || depth > 100) return;
    const def = defOf(s);
    const [head, ...tail] = rest;
    switch (def.type) {
      case 'optional':
      case 'nullable':
      case 'default':
      case 'prefault':
      case 'catch':
      case 'readonly':
      case 'nonoptional':
        return walk(def.innerType, rest, depth + 1);
      case 'pipe':
        return walk(def.in, rest, depth + 1); // what the file writes is the pipe's input
      case 'lazy':
        return walk(def.getter?.(), rest, depth + 1);
      case 'union':
        for (const option of def.options ?? []) walk(option, rest, depth + 1);
        return;
      case 'intersection':
        walk(def.left, rest, depth + 1);
        walk(def.right, rest, depth + 1);
        return;
      case 'object':
        if (head === undefined) for (const key of Object.keys(def.shape ?? {})) keys.add(key);
        else walk(typeof head === 'string' && def.shape?.[head] ? def.shape[head] : def.catchall, tail, depth + 1);
        return;
      case 'array':
        if (typeof head === 'number') walk(def.element, tail, depth + 1);
        return;
      case 'tuple':
        if (typeof head === 'number') walk(def.items?.[head], tail, depth + 1);
        return;
      case 'record':
        if (head !== undefined) walk(def.valueType, tail, depth + 1);
        return;
    }
  };
  walk(schema, path, 0);
  return keys;
}

/** Edits (insert, delete, replace, swap two neighbours) from a to b. */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/** The accepted key an unknown one was most likely meant as, among those not written; null if none is close. */
export function suggestKey(unknown: string, accepted: ReadonlySet<string>, written: ReadonlySet<string>): string | null {
  let best: { key: string; distance: number } | null = null;
  for (const key of accepted) {
    if (written.has(key)) continue;
    const distance = key.toLowerCase() === unknown.toLowerCase() ? 0 : editDistance(unknown.toLowerCase(), key.toLowerCase());
    if (distance > Math.max(1, Math.floor(key.length / 3))) continue;
    if (!best || distance < best.distance) best = { key, distance };
  }
  return best?.key ?? null;
}
