/**
 * The user's trust phrase and symbol as the shell draws them: only in trusted surfaces.
 */
import type { TrustMark } from '../store/shellStore';

export function TrustMarkView({ trust, testId }: { trust: TrustMark | null; testId: string }) {
  if (!trust) return null;
  return (
    <span className="trust-mark" data-testid={testId} title={trust.phrase}>
      {trust.symbol ? <span className="trust-mark__symbol">{trust.symbol}</span> : null}
      <span className="trust-mark__phrase">« {trust.phrase} »</span>
    </span>
  );
}
