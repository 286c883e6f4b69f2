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
 *
 * Openbox: the host's own configuration (/etc/xdg/openbox/rc.xml: its menus, keys and mouse
 * bindings) with one rule added, every application window maximized. A cage's screen is its frame
 * (geometry: auto) and changes with it (split view, a resized window): windows placed side by side
 * in a large screen were cut at its edge once it shrank, and opened beside one another, half out of
 * sight, instead of filling the level. Dialogs and splash screens keep their own size. The cage's
 * own ~/.config/openbox/rc.xml, if it writes one, still wins: the cage is its own business.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
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

/** The host's openbox configuration, which the cages' openbox reads (through the cage's /etc/xdg). */
export const HOST_OPENBOX_RC = '/etc/xdg/openbox/rc.xml';

/** The window rule every cage's openbox gets: application windows fill the screen. */
export const MAXIMIZED_RULE = `  <!-- Cloison: every application window fills its level's screen, which follows its frame -->
  <application type="normal">
    <maximized>yes</maximized>
  </application>
`;

/** An openbox rc.xml's text with the rule first in its <applications> (one is made when it has none). */
export function withMaximizedWindows(rcXml: string): string {
  const open = /<applications\s*\/>|<applications\s*>/.exec(rcXml);
  if (open) {
    const body = open[0].endsWith('/>') ? `<applications>\n${MAXIMIZED_RULE}</applications>` : `${open[0]}\n${MAXIMIZED_RULE}`;
    return rcXml.slice(0, open.index) + body + rcXml.slice(open.index + open[0].length);
  }
  const end = rcXml.lastIndexOf('</openbox_config>');
  if (end < 0) return rcXml;
  return `${rcXml.slice(0, end)}<applications>\n${MAXIMIZED_RULE}</applications>\n${rcXml.slice(end)}`;
}

function hostOpenboxRc(): string | null {
  try {
    return readFileSync(HOST_OPENBOX_RC, 'utf8');
  } catch {
    return null;
  }
}

/**
 * Firefox's policy for a cage whose applications speak `locale`: its interface in that language
 * (RequestedLocales; Firefox takes its language from its own preference, not LANG, and falls back to
 * en-US when firefox-esr-l10n-fr is missing).
 */
export function firefoxPolicies(locale: 'fr' | 'en'): typeof FIREFOX_POLICIES & { policies: { RequestedLocales: string[] } } {
  return { policies: { ...FIREFOX_POLICIES.policies, RequestedLocales: locale === 'fr' ? ['fr', 'en-US'] : ['en-US'] } };
}

/** Each file: its name in the cage's run folder (root's) and where the cage sees it; a null text is not written (nor bound). */
const FILES: Array<{ name: string; text: (locale: 'fr' | 'en') => string | null }> = [
  { name: 'firefox-policies.json', text: (locale) => `${JSON.stringify(firefoxPolicies(locale), null, 2)}\n` },
  { name: 'openbox-rc.xml', text: () => { const rc = hostOpenboxRc(); return rc === null ? null : withMaximizedWindows(rc); } },
];
/**
 * Firefox reads its policy from /etc/<its application name>/policies: firefox-esr for Debian's ESR,
 * firefox for the rest. Openbox's goes over the host's, inside the cage's read-only /etc/xdg
 * (no folder made: there is one when the host has openbox's file).
 */
const BINDS = [
  { name: 'firefox-policies.json', inCage: '/etc/firefox-esr/policies/policies.json', makeFolders: true },
  { name: 'firefox-policies.json', inCage: '/etc/firefox/policies/policies.json', makeFolders: true },
  { name: 'openbox-rc.xml', inCage: HOST_OPENBOX_RC, makeFolders: false },
];

/** Writes the applications' settings into the cage's run folder, for applications speaking `locale`. */
export function writeCageAppSettings(runDir: string, locale: 'fr' | 'en' = 'fr'): void {
  for (const f of FILES) {
    const text = f.text(locale);
    if (text !== null) writeFileSync(join(runDir, f.name), text, { mode: 0o444 });
  }
}

/** bwrap arguments binding them read-only where the applications look (those written). */
export function cageAppSettingsArgs(runDir: string): string[] {
  // Folders bwrap makes are 0700 unless told: the cage's user must traverse them.
  return BINDS.flatMap((b) => {
    if (!b.makeFolders && !existsSync(join(runDir, b.name))) return [];
    const parts = b.inCage.split('/').slice(1, -1);
    const dirs = b.makeFolders ? parts.slice(1).map((_, i) => `/${parts.slice(0, i + 2).join('/')}`) : [];
    return [...dirs.flatMap((d) => ['--perms', '0755', '--dir', d]), '--ro-bind', join(runDir, b.name), b.inCage];
  });
}
