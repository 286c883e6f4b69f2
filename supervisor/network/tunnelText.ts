/**
 * A tunnel's reason (why it is down or failed) in both languages. The supervisor writes it in
 * English where it arises (its watch, wireguard-go, ip/wg), for its log; the shell gets it
 * translated here. A failing tool's own words stay as they were, introduced in French.
 */
import { bilingual, type Bilingual } from '../../shared/bilingual';

const NO_ROUTE = ': this cage has no route at all';

const SHAPES: Array<[RegExp, (...m: string[]) => string]> = [
  [/^no answer from the gateway: nothing leaves this cage$/, () => 'pas de réponse de la passerelle : rien ne sort de cette cage'],
  [/^no handshake for (\d+) s: nothing leaves this cage$/, (n) => `aucun échange depuis ${n} s : rien ne sort de cette cage`],
  [/^wireguard-go ended \(exit (.*)\)$/, (c) => `wireguard-go s’est arrêté (code ${c})`],
  [/^wireguard-go ended \((.*)\)$/, (s) => `wireguard-go s’est arrêté (${s})`],
  [/^wireguard-go did not start: no control socket$/, () => 'wireguard-go n’a pas démarré : pas de prise de contrôle'],
  [/^wireguard-go did not start: (.*)$/s, (e) => `wireguard-go n’a pas démarré : ${e}`],
  [/^(\S+) (.*?) failed: (.*)$/s, (cmd, args, e) => `${cmd} ${args} a échoué : ${e}`],
];

function known(english: string): string | null {
  if (english.endsWith(NO_ROUTE)) {
    const why = english.slice(0, -NO_ROUTE.length);
    return `${known(why) ?? why} : cette cage n’a aucune route`;
  }
  for (const [shape, fr] of SHAPES) {
    const m = shape.exec(english);
    if (m) return fr(...m.slice(1));
  }
  return null;
}

export function tunnelText(english: string): Bilingual {
  return bilingual(known(english) ?? `détail technique (en anglais) : ${english}`, english);
}
