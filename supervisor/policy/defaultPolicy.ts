/**
 * The embedded default policy, used when the supervisor is started without --policy.
 * Two levels as in CLIP OS: low (internet through NAT, host loopback unreachable) and high (no
 * network at all). Flows follow CLIP OS: up = ask, down = deny.
 */
export const DEFAULT_POLICY_NAME = '<embedded default policy>';

export const DEFAULT_POLICY_YAML = `# Cloison default policy
version: 1
levels:
  - id: low
    rank: 0
    label: { fr: Bas, en: Low }
    colour: "#1b7f3b"
    cage:
      driver: bwrap
      network: nat
      geometry: auto
      apps:
        # The browser's profile lives in the cage's home; the cage is its sandbox.
        - { id: firefox, exec: [firefox-esr], desktop: firefox-esr, autostart: true }
        # A document opens in mupdf (mupdf-x11): mupdf-gl, maximized as it maps, stays half drawn
        # until the pointer moves (cages/cageMimeApps.ts); the launcher starts mupdf-gl (its file dialog).
        - { id: pdf, exec: [mupdf-gl], documentExec: [mupdf], desktop: mupdf }
        - { id: files, exec: [pcmanfm], desktop: pcmanfm }
        - { id: terminal, exec: [xterm], desktop: debian-xterm }
        # A .txt opens in the text editor (cages/cageMimeApps.ts: each app opens what its .desktop
        # file lists, the first in this list when two do; opens: says otherwise).
        - { id: editor, exec: [mousepad], desktop: org.xfce.mousepad, opens: [text/plain] }
  - id: high
    rank: 1
    label: { fr: Haut, en: High }
    colour: "#b3261e"
    cage:
      driver: bwrap
      network: none
      geometry: auto
      apps:
        - { id: writer, exec: [libreoffice, --writer], desktop: libreoffice-writer, autostart: true }
        - { id: calc, exec: [libreoffice, --calc], desktop: libreoffice-calc }
        # Images open in the PDF viewer here (no image viewer, no browser in this level).
        - { id: pdf, exec: [mupdf-gl], documentExec: [mupdf], desktop: mupdf, opens: [image/png, image/jpeg, image/gif, image/bmp, image/tiff] }
        - { id: files, exec: [pcmanfm], desktop: pcmanfm }
        - { id: terminal, exec: [xterm], desktop: debian-xterm }
        # Writer lists text/plain too: a .txt opens in the text editor.
        - { id: editor, exec: [mousepad], desktop: org.xfce.mousepad, opens: [text/plain] }
flows:
  up: ask
  down: deny
  lateral: deny
files:
  # Documents from low reach high only as a PDF of their pages' pixels (supervisor/files/convert).
  up: { decision: convert }
shortcuts:
  switchLevel: Ctrl+Alt+PageDown
  secureAttention: Pause
  lock: Super+L
session:
  # The lock is mandatory (CLIP OS 4): after 3 minutes without input; the user may choose up to
  # 30 minutes for the current session only. Unlocking takes the password through PAM.
  lockAfterSeconds: 180
  userMayExtendUpTo: 1800
  maxFailures: 5
  pamService: cloison-unlock
usb:
  # An unknown key brings up the trusted dialog; the user may attach it low read-write or high
  # read-only (CLIP OS 4). Keys registered in rules are bound to their level.
  unknown: ask
  choices:
    - { level: low, mode: read-write }
    - { level: high, mode: read-only }
  rules: []
`;
