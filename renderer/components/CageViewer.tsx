/**
 * One cage's display: a noVNC RFB in a container the shell clips. Input reaches the cage only
 * while it is in front (viewOnly otherwise; the gateway enforces the same). The cage's desktop
 * name is never read: nothing a cage announces becomes shell text.
 */
import RFB from '@novnc/novnc';
import { useEffect, useRef, useState } from 'react';
import { useShell, useShellState } from '../shellContext';
import { guardFramebufferSize } from './framebufferGuard';

export type ViewerState = 'idle' | 'connecting' | 'connected' | 'unreachable';

interface Props {
  level: string;
  front: boolean;
  onViewerState(state: ViewerState): void;
  /** Called for a bell from the cage, at most once per BELL_INTERVAL_MS. */
  onBell(): void;
}

const RECONNECT_DELAY_MS = 1000;
/** A cage may ring at most this often: a bell storm cannot flood the shell. */
export const BELL_INTERVAL_MS = 1000;

export function CageViewer({ level, front, onViewerState, onBell }: Props) {
  const { api } = useShell();
  const status = useShellState((s) => s.cages[level]?.status);
  const restarts = useShellState((s) => s.cages[level]?.restarts ?? 0);
  const container = useRef<HTMLDivElement>(null);
  const rfbRef = useRef<RFB | null>(null);
  const [attempt, setAttempt] = useState(0);
  const lastBell = useRef(0);

  useEffect(() => {
    if (status !== 'running' || !container.current) {
      onViewerState('idle');
      return;
    }
    let cancelled = false;
    let retryTimer: ReturnType<typeof setTimeout> | undefined;
    onViewerState('connecting');
    void api
      .call('vnc.ticket', { level })
      .then(({ ticket, path }) => {
        if (cancelled || !container.current) return;
        const rfb = new RFB(container.current, api.vncUrl(path, level, ticket), { shared: true });
        guardFramebufferSize(rfb, () => onViewerState('unreachable'));
        rfb.scaleViewport = true;
        rfb.clipViewport = false;
        rfb.resizeSession = false; // the policy fixes the cage's size
        rfb.background = '#000000';
        rfb.viewOnly = !front;
        rfb.addEventListener('connect', () => {
          onViewerState('connected');
          if (rfb.viewOnly === false) rfb.focus();
        });
        rfb.addEventListener('bell', () => {
          const now = Date.now();
          if (now - lastBell.current < BELL_INTERVAL_MS) return;
          lastBell.current = now;
          onBell();
        });
        rfb.addEventListener('disconnect', () => {
          rfbRef.current = null;
          if (cancelled) return;
          onViewerState('unreachable');
          retryTimer = setTimeout(() => setAttempt((a) => a + 1), RECONNECT_DELAY_MS);
        });
        rfbRef.current = rfb;
      })
      .catch(() => {
        if (cancelled) return;
        onViewerState('unreachable');
        retryTimer = setTimeout(() => setAttempt((a) => a + 1), RECONNECT_DELAY_MS);
      });
    return () => {
      cancelled = true;
      clearTimeout(retryTimer);
      rfbRef.current?.disconnect();
      rfbRef.current = null;
    };
    // `front` is deliberately not a dependency: the effect below applies it without reconnecting.
  }, [api, level, status, restarts, attempt]);

  useEffect(() => {
    const rfb = rfbRef.current;
    if (!rfb) return;
    rfb.viewOnly = !front;
    if (front) rfb.focus({ preventScroll: true });
    else rfb.blur();
  }, [front]);

  return <div className="viewer" ref={container} data-testid={`viewer-${level}`} />;
}
