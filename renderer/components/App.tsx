/**
 * The shell's window: the level band on top, the cage stage below, and a blocking notice when the
 * link to the supervisor is down (a shell without its supervisor shows no cage).
 */
import { useEffect } from 'react';
import { textFor } from '../i18n';
import { useShell, useShellState } from '../shellContext';
import { CageStage } from './CageStage';
import { LevelBand } from './LevelBand';
import { ShellNotice, StopNotice } from './LevelNotice';
import { TrustedOverview } from './TrustedOverview';
import { TrustPhraseDialog } from './TrustPhraseDialog';
import { ConfirmDialog } from './ConfirmDialog';
import { SmartcardPinDialog } from './SmartcardPinDialog';
import { FileTransferDialog } from './FileTransferDialog';
import { DeviceAssignDialog } from './DeviceAssignDialog';
import { LockScreen } from './LockScreen';
import { ReportDialog } from './ReportDialog';
import { AppLauncherMenu } from './AppLauncher';
import { TrainingPanel } from './TrainingPanel';
import { PopoverScrim } from './PopoverScrim';

export function App() {
  const link = useShellState((s) => s.link);
  const linkError = useShellState((s) => s.linkError);
  const locale = useShellState((s) => s.locale);
  const locked = useShellState((s) => s.lock?.locked === true);
  const t = textFor(locale);
  const { earlyFrames } = useShell();
  // The viewers (children: their effects ran first) have claimed their early frames: the rest go,
  // and go all while locked (no frame then).
  useEffect(() => {
    if (link === 'connected') earlyFrames?.dropUnclaimed();
  }, [link, earlyFrames]);
  if (link !== 'connected') {
    return (
      <div className="shell shell--offline" data-testid="shell-offline" data-link={link}>
        <div className="notice">
          <div className="notice__title">{link === 'connecting' ? t.connecting : t.linkLost}</div>
          {linkError ? <div className="notice__detail">{linkError}</div> : null}
        </div>
      </div>
    );
  }
  // Locked: the lock screen alone. No band, no frame, no viewer: the viewers' frames are gone
  // (and the supervisor has closed their connections), so nothing of a cage is left to show.
  if (locked) return <LockScreen />;
  return (
    <div className="shell" data-testid="shell">
      <LevelBand />
      {/* Under the band and its menus, over every frame, while one of the band's menus is open. */}
      <PopoverScrim />
      {/* The shell's own refusal: under the band, above the stage, never over a frame (LevelNotice.tsx). */}
      <StopNotice />
      <ShellNotice />
      <div className="shell__body">
        <CageStage />
        <TrainingPanel />
      </div>
      <TrustedOverview />
      <TrustPhraseDialog />
      <FileTransferDialog />
      <ConfirmDialog />
      <SmartcardPinDialog />
      <DeviceAssignDialog />
      <ReportDialog />
      <AppLauncherMenu />
    </div>
  );
}
