/**
 * A tunnel's reason (why it is down or failed) as the `cloison` part may read it through
 * `tunnel.status`. The reason is written root-side from whatever failed: the watch, wireguard-go,
 * `ip`/`wg`'s first line of error, the configuration's refusal. The configuration holds the level's
 * private key, so the part gets the known shapes as they are and anything else with every
 * key-shaped run of characters taken out (a WireGuard key in base64, or in hex as wireguard-go's
 * control socket writes it): a parser or a tool that one day repeats a value still hands no key
 * over. The manager's log keeps the full text, for the administrator.
 */

const NO_ROUTE = ': this cage has no route at all';
const TEXT_CHARS = 300;

/** Reasons whose whole text is known: nothing in them came from the configuration or a tool. */
const FIXED: RegExp[] = [
  /^no answer from the gateway: nothing leaves this cage$/,
  /^no handshake for \d{1,10} s: nothing leaves this cage$/,
  /^wireguard-go ended \((exit \d{1,3}|SIG[A-Z0-9]{1,12})\)$/,
  /^wireguard-go did not start: no control socket$/,
];

/**
 * Key-shaped: 16 or more base64 characters mixing capitals with digits or `+`/`=` (a path, a word
 * or a host name seldom does), or 32 hex digits and more.
 */
const BASE64_RUN = /[A-Za-z0-9+/=]{16,}/g;
const HEX_RUN = /[0-9a-fA-F]{32,}/g;
const keyShaped = (run: string) => /[A-Z]/.test(run) && /[0-9+=]/.test(run);

export function withoutKeys(text: string): string {
  return text.replace(HEX_RUN, '…').replace(BASE64_RUN, (run) => (keyShaped(run) ? '…' : run));
}

export function tunnelReasonForPart(reason: string): string {
  const oneLine = String(reason).replace(/[^\x20-\x7e\u00a0-\u024f]+/g, ' ');
  if (oneLine.endsWith(NO_ROUTE)) return `${tunnelReasonForPart(oneLine.slice(0, -NO_ROUTE.length))}${NO_ROUTE}`.slice(0, TEXT_CHARS);
  if (FIXED.some((shape) => shape.test(oneLine))) return oneLine;
  // wireguard-go's own log tail says nothing the band needs; the manager's log has it.
  if (oneLine.startsWith('wireguard-go did not start: ')) return 'wireguard-go did not start (the manager\'s log says why)';
  return withoutKeys(oneLine.slice(0, 4 * TEXT_CHARS)).slice(0, TEXT_CHARS);
}
