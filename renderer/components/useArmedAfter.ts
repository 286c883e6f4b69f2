/**
 * A trusted dialog ignores input for a short moment after it opens (trusted path, property 5), so
 * a click or key aimed at what was there before cannot confirm it.
 */
import { useEffect, useState } from 'react';

export const DIALOG_ARMING_MS = 500;

export function useArmedAfter(ms = DIALOG_ARMING_MS): boolean {
  const [armed, setArmed] = useState(false);
  useEffect(() => {
    const timer = setTimeout(() => setArmed(true), ms);
    return () => clearTimeout(timer);
  }, [ms]);
  return armed;
}
