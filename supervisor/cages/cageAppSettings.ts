/**
 * The settings a cage's applications read from /etc, written by the supervisor and bound read-only
 * into every cage: the cage cannot change them, and nothing of the host's /etc comes with them.
 *
 * Firefox: an enterprise policy (the file Firefox reads at /etc/firefox-esr/policies/policies.json)
 * that stops what it would fetch on its own at its first start — the privacy notice tab, telemetry,
 * studies, captive portal and connectivity checks, sponsored content, its own updates (Debian's
 * packages update it) — while its security services (Safe Browsing, certificate revocation lists)
 * stay on. Its content sandbox cannot make user namespaces under the cage's filter and runs with
 * what is left of it (its seccomp filter); the cage is its sandbox (README, Decisions).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const FIREFOX_POLICIES = {
  policies: {
    DisableTelemetry: true,
    DisableFirefoxStudies: true,
    DisableDefaultBrowserAgent: true,
    DontCheckDefaultBrowser: true,
    DisableAppUpdate: true,
    DisablePocket: true,
    DisableProfileImport: true,
    DisableFeedbackCommands: true,
    CaptivePortal: false,
    NetworkPrediction: false,
    OverrideFirstRunPage: '',
    OverridePostUpdatePage: '',
    NoDefaultBookmarks: true,
    UserMessaging: { WhatsNew: false, ExtensionRecommendations: false, FeatureRecommendations: false, UrlbarInterventions: false, SkipOnboarding: true, MoreFromMozilla: false, FirefoxLabs: false, Locked: true },
    FirefoxHome: { Search: true, TopSites: false, SponsoredTopSites: false, Highlights: false, Pocket: false, SponsoredPocket: false, Snippets: false, Locked: true },
    FirefoxSuggest: { WebSuggestions: false, SponsoredSuggestions: false, ImproveSuggest: false, Locked: true },
    Preferences: {
      'datareporting.policy.dataSubmissionPolicyBypassNotification': { Value: true, Status: 'locked' },
      'datareporting.policy.firstRunURL': { Value: '', Status: 'locked' },
      'datareporting.policy.dataSubmissionEnabled': { Value: false, Status: 'locked' },
      'network.connectivity-service.enabled': { Value: false, Status: 'locked' },
      'browser.aboutwelcome.enabled': { Value: false, Status: 'locked' },
      'browser.startup.homepage_override.mstone': { Value: 'ignore', Status: 'locked' },
      'app.normandy.enabled': { Value: false, Status: 'locked' },
      'browser.newtabpage.activity-stream.feeds.topsites': { Value: false, Status: 'locked' },
      'extensions.getAddons.showPane': { Value: false, Status: 'locked' },
    },
  },
};

/** Each file: its name in the cage's run folder (root's) and where the cage sees it. */
const FILES = [{ name: 'firefox-policies.json', text: () => `${JSON.stringify(FIREFOX_POLICIES, null, 2)}\n` }];
/** Firefox reads its policy from /etc/<its application name>/policies: firefox-esr for Debian's ESR, firefox for the rest. */
const BINDS = [
  { name: 'firefox-policies.json', inCage: '/etc/firefox-esr/policies/policies.json' },
  { name: 'firefox-policies.json', inCage: '/etc/firefox/policies/policies.json' },
];

/** Writes the applications' settings into the cage's run folder. */
export function writeCageAppSettings(runDir: string): void {
  for (const f of FILES) writeFileSync(join(runDir, f.name), f.text(), { mode: 0o444 });
}

/** bwrap arguments binding them read-only where the applications look. */
export function cageAppSettingsArgs(runDir: string): string[] {
  // Folders bwrap makes are 0700 unless told: the cage's user must traverse them.
  return BINDS.flatMap((b) => {
    const parts = b.inCage.split('/').slice(1, -1);
    const dirs = parts.slice(1).map((_, i) => `/${parts.slice(0, i + 2).join('/')}`);
    return [...dirs.flatMap((d) => ['--perms', '0755', '--dir', d]), '--ro-bind', join(runDir, b.name), b.inCage];
  });
}
