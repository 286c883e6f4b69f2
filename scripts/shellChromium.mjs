// The browser host's Chromium: the flags and the profile preferences that keep every piece of
// Chromium's own UI off the trusted page (translation, passwords, permissions, downloads, spelling,
// crash restore), and its language. npm start (start.mjs) and the tests that run the shell as it
// does (e2e/support/hostDisplay.ts) both take them from here.
//
// Translation matters most: its bubble opens over the band (browser chrome over the trusted area),
// and accepting it would send the page's text, the trust phrase included, to a translation service.
import { chownSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The workstation's language as the supervisor reads it first (LC_ALL, LC_MESSAGES, LANG): fr or en; French otherwise. */
export function hostShellLocale(env = process.env) {
  const set = [env.LC_ALL, env.LC_MESSAGES, env.LANG].find((v) => v !== undefined && v !== '');
  return /^en(?:[_.@-]|$)/i.test(set ?? '') ? 'en' : 'fr';
}

/** Features whose UI can open over the page, and one the shell never uses. */
const DISABLED_FEATURES = [
  'Translate', 'TranslateUI', // the translate bubble and its omnibox icon
  'DownloadBubble', 'DownloadBubbleV2', // the downloads bubble
  'AutofillServerCommunication', 'PasswordManagerOnboarding', // save-password and autofill prompts
  'MediaRouter', 'GlobalMediaControls', // cast and media controls
  'PrivacySandboxSettings4', 'HttpsUpgrades', // first-run notices, interstitials for 127.0.0.1
  // Not UI: the renderer Chromium keeps started for a next site the shell never opens (12 MiB PSS).
  'SpareRendererForSitePerProcess',
  // Not UI: requests to Google at every start, which --disable-background-networking leaves on
  // (scripts/shellReach.attack.test.ts): the network time (clients2.google.com/time), the
  // optimization guide's hints and models (optimizationguide-pa.googleapis.com/v1:GetModels).
  'NetworkTimeServiceQuerying', 'OptimizationHints', 'OptimizationTargetPrediction', 'OptimizationGuideModelExecution',
];

/**
 * What the shell's Chromium may reach: the cloison part and the cages' viewers, all on 127.x
 * addresses, which Chromium never sends through a proxy (its implicit bypass: loopback). Everything
 * else goes to a proxy on port 0 of the loopback, where nothing can listen: the request fails at
 * once, and its host name is never looked up (a proxy's client leaves that to the proxy). Those
 * are the requests Chromium makes on its own — the on-device model's update check
 * (update.googleapis.com, which --disable-component-update does not stop: the model's manifest
 * registers itself), the Google accounts list (accounts.google.com/ListAccounts, which
 * signin.allowed: false does not stop) — and any a page would make. Not --host-resolver-rules,
 * which does the same for look-ups: Chromium then shows its "unsupported command-line flag" bar
 * above the band (e2e/language.spec.ts).
 */
export const SHELL_PROXY_SERVER = 'http://127.0.0.1:0';

/**
 * Features the shell turns on. The network service inside the browser process, not a utility
 * process of its own: on Linux that process runs with no sandbox (--service-sandbox-type=none, no
 * seccomp filter, the browser's namespaces), so folding it in takes no layer away, and saves its
 * ~17 MiB private (bench/RESULTS.md, apps-memory). scripts/start.test.ts checks that it has no
 * process and that every renderer keeps its seccomp filter and namespaces.
 */
const ENABLED_FEATURES = ['NetworkServiceInProcess2'];

/** The on-device model performance class the shell declares (1: Chromium's "error"), so it never runs its benchmark. */
export const NO_ON_DEVICE_MODEL_CLASS = 1;

/** Whether the host has a GPU Chromium could use: a DRM render node (/dev/dri/renderD*). */
export function hostHasRenderNode(dir = '/dev/dri') {
  try {
    return readdirSync(dir).some((name) => name.startsWith('renderD'));
  } catch {
    return false;
  }
}

/**
 * Chromium's flags for the shell window, besides --app and --user-data-dir (scripts/shellReach.attack.test.ts
 * runs Chromium with them and watches where it connects). `gpu`: whether the host
 * has a GPU (hostHasRenderNode). Without one, Chromium's GPU process runs Mesa's software GL with
 * no seccomp filter (Seccomp 0 in its status on such a host); --disable-gpu makes it a software
 * compositor that does engage its sandbox (a broker beside it), and weighs ~15 MiB less.
 *
 * A render node is no proof Chromium can use it (a virtual machine's 2D-only virtio-gpu, a
 * blocklisted driver, a node the user may not open): it then falls back to that same software GL,
 * and its GPU process, which runs every renderer's drawing commands, would go on with no filter
 * (gpuSandboxChoice.attack.test.ts). --gpu-sandbox-failures-fatal=yes: a GPU process whose sandbox
 * did not engage exits, and Chromium starts it again without the GPU, under its filter.
 */
export function shellChromiumArgs({ locale, gpu = hostHasRenderNode() }) {
  return [
    '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync',
    `--lang=${locale === 'en' ? 'en-GB' : 'fr'}`,
    `--enable-features=${ENABLED_FEATURES.join(',')}`,
    `--disable-features=${DISABLED_FEATURES.join(',')}`,
    ...(gpu ? ['--gpu-sandbox-failures-fatal=yes'] : ['--disable-gpu']),
    '--deny-permission-prompts', // any permission a page asks for is refused without a prompt
    '--password-store=basic', // no keyring dialog at start
    '--no-default-browser-check', '--disable-default-apps', '--hide-crash-restore-bubble',
    // Each viewer frame (a loopback address of its own) in a renderer process of its own, whatever
    // a memory threshold or a field trial says: a cage crashing its viewer never takes the band.
    '--site-per-process',
    // A frame may not take the focus without a user's gesture in it when its <iframe> says
    // allow="focus-without-user-activation 'none'" (every viewer frame does): a viewer page taken
    // over cannot grab the keys typed for another level (the shell's frameFocusGuard.ts checks too).

    // 3 minutes after start Chromium benchmarks the machine for its on-device AI model: it starts
    // the on-device model service (a utility process and its broker, ~11 MiB PSS), which the shell
    // never uses, and leaves it running. A performance class given here skips the benchmark; no
    // feature switch does (LogOnDeviceMetricsOnStartup off, whose delay it is, still started it).
    // No model is downloaded either way (--disable-component-update above, and the proxy below).
    `--optimization-guide-performance-class=${NO_ON_DEVICE_MODEL_CLASS}`,
    `--proxy-server=${SHELL_PROXY_SERVER}`,
    // No crash handler: Chromium's two crashpad processes keep their reports in
    // ~/.config/chromium/Crash Reports, outside the shell's fresh profile, and a dump of the
    // shell's memory holds the PIN typed in the trusted dialog, the launch secret, the clipboard.
    // --disable-crash-reporter and --disable-breakpad still start both (tried with
    // shellReach.attack.test.ts's run); this one does not. A crash of the shell's Chromium still
    // ends its process at once (SIGSEGV: status 139, nothing written): start.mjs sees its window
    // end as before.
    '--disable-crashpad-for-testing',
  ];
}

/** The profile's preferences, written before Chromium first reads them. */
export function shellChromiumPreferences({ locale }) {
  const languages = locale === 'en' ? 'en-GB,en' : 'fr-FR,fr';
  const deny = 2;
  return {
    translate: { enabled: false },
    translate_blocked_languages: ['fr', 'en'],
    intl: { accept_languages: languages, selected_languages: languages },
    browser: { enable_spellchecking: false, check_default_browser: false, has_seen_welcome_page: true },
    spellcheck: { dictionaries: [], use_spelling_service: false },
    credentials_enable_service: false,
    credentials_enable_autosignin: false,
    autofill: { enabled: false, profile_enabled: false, credit_card_enabled: false },
    download: { prompt_for_download: false },
    profile: {
      password_manager_enabled: false,
      exit_type: 'Normal',
      exited_cleanly: true,
      default_content_setting_values: { notifications: deny, geolocation: deny, media_stream_camera: deny, media_stream_mic: deny, midi_sysex: deny, automatic_downloads: deny, popups: deny, clipboard: deny },
    },
  };
}

/** Writes the preferences into a new profile (owned by `owner`, the user Chromium runs as, when given). */
export function writeShellChromiumProfile(profile, { locale, owner = null }) {
  const dir = join(profile, 'Default');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const file = join(dir, 'Preferences');
  writeFileSync(file, JSON.stringify(shellChromiumPreferences({ locale })), { mode: 0o600 });
  if (owner) for (const path of [dir, file]) chownSync(path, owner.uid, owner.gid);
}
