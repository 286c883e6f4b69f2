/**
 * The USB broker's reasons (why a device cannot be used, why an attach, eject or marking failed,
 * why a mark is refused) in both languages. They are written in English where they arise and go to
 * the journal so; the shell gets them translated here by their shape. The words of a failing
 * system tool (mount, blkid, dd) stay as they were, introduced in French.
 */
import { bilingual, type Bilingual } from '../../shared/bilingual';

const STATE_FR: Record<string, string> = {
  waiting: 'en attente de votre décision', attaching: 'en cours de montage', attached: 'attachée', ejecting: 'en cours d’éjection',
  detached: 'non attachée', ignored: 'ignorée (politique)', unusable: 'inutilisable', preparing: 'en cours d’effacement et de préparation',
};
const state = (s: string) => STATE_FR[s] ?? s;
const MODE_FR: Record<string, string> = { 'read-only': 'en lecture seule', 'read-write': 'en lecture-écriture' };

const SHAPES: Array<[RegExp, (...m: string[]) => string]> = [
  // keyMarks.ts: a mark refused
  [/^damaged mark: the copy at the start of the device is missing$/, () => 'marquage endommagé : la copie au début de la clé manque'],
  [/^truncated or damaged mark: the copy at the end of the device is missing \(the device is not the size it was marked at\)$/, () => 'marquage tronqué ou endommagé : la copie à la fin de la clé manque (la clé n’a plus la taille qu’elle avait au marquage)'],
  [/^damaged or forged mark: its two copies differ$/, () => 'marquage endommagé ou falsifié : ses deux copies diffèrent'],
  [/^forged mark: no level in it$/, () => 'marquage falsifié : il ne nomme aucun niveau'],
  [/^forged mark: its signature is not this workstation's$/, () => 'marquage falsifié : sa signature n’est pas celle de ce poste'],
  [/^truncated or resized device: it is not the size it was marked at$/, () => 'clé tronquée ou redimensionnée : elle n’a plus la taille qu’elle avait au marquage'],
  [/^marked for level "(.*)", which this policy does not have$/, (l) => `marquée pour le niveau « ${l} », que cette politique n’a pas`],
  // deviceBroker.ts: why it cannot be used
  [/^refused: (.*)$/s, (why) => `refusée : ${translate(why)}`],
  [/^cannot read the device: (.*)$/s, (e) => `lecture de la clé impossible : ${e}`],
  [/^cannot probe (\S+): the probe timed out$/, (d) => `analyse de ${d} impossible : délai dépassé`],
  [/^cannot probe (\S+): (.*)$/s, (d, e) => `analyse de ${d} impossible : ${e}`],
  [/^no filesystem recognised \(blank, encrypted, or damaged beyond recognition\)$/, () => 'aucun système de fichiers reconnu (vierge, chiffrée ou trop endommagée)'],
  [/^filesystem "(.*)" is not allowed by the policy$/, (t) => `le système de fichiers « ${t} » n’est pas autorisé par la politique`],
  [/^the device cannot be used: (.*)$/s, (why) => `la clé est inutilisable : ${translate(why)}`],
  [/^the device is being erased or marked$/, () => 'la clé est en cours d’effacement ou de marquage'],
  [/^the device is (\w+) to "(.*)": eject it first$/, (s, l) => `la clé est ${state(s)} à « ${l} » : éjectez-la d’abord`],
  [/^the device is (\w+): eject it first$/, (s) => `la clé est ${state(s)} : éjectez-la d’abord`],
  [/^the device is (\w+), not waiting for a decision$/, (s) => `la clé est ${state(s)}, elle n’attend pas de décision`],
  [/^the device is (\w+), not attached$/, (s) => `la clé est ${state(s)}, pas attachée`],
  [/^still in use in the cage \(a program has a file or folder open on it\): close it, then eject again — (.*)$/s, (e) => `encore utilisée dans la cage (un programme y a un fichier ou un dossier ouvert) : fermez-le, puis éjectez de nouveau — ${e}`],
  [/^marking failed: (.*)$/s, (e) => `le marquage a échoué : ${translate(e)}`],
  [/^erasing failed: (.*)$/s, (e) => `l’effacement a échoué : ${translate(e)}`],
  [/^level "(.*)" has no bwrap cage to receive devices$/, (l) => `le niveau « ${l} » n’a pas de cage bwrap pour recevoir des clés USB`],
  [/^level "(.*)" has no bwrap cage to use a marked key$/, (l) => `le niveau « ${l} » n’a pas de cage bwrap pour utiliser une clé marquée`],
  [/^could not mount the filesystem \((.*?)\): (.*)$/s, (t, e) => `montage du système de fichiers (${t}) impossible : ${e}`],
  [/^the device is too small to be marked \((\d+) bytes; at least (\d+)\)$/, (n, min) => `la clé est trop petite pour être marquée (${n} octets ; au moins ${min})`],
  [/^the device carries no mark$/, () => 'la clé ne porte aucun marquage'],
  [/^no such device \(it was pulled out\)$/, () => 'clé introuvable (elle a été retirée)'],
  // devicePolicy.ts: an attach the policy refuses
  [/^this device is bound to level "(.*)" by (.*): it cannot be attached to "(.*)"$/, (b, rule, l) => `cette clé est liée au niveau « ${b} » par ${rule} : elle ne peut pas être attachée à « ${l} »`],
  [/^the policy ignores this device: it cannot be attached$/, () => 'la politique ignore cette clé : elle ne peut pas être attachée'],
  [/^the policy does not allow attaching this device to "(.*)" (read-only|read-write)$/, (l, m) => `la politique ne permet pas d’attacher cette clé à « ${l} » ${MODE_FR[m]}`],
];

function known(english: string): string | null {
  for (const [shape, fr] of SHAPES) {
    const m = shape.exec(english);
    if (m) return fr(...m.slice(1));
  }
  return null;
}

/** The French for a nested reason, or the English kept as the tool said it. */
function translate(english: string): string {
  return known(english) ?? english;
}

export function usbText(english: string): Bilingual {
  return bilingual(known(english) ?? `détail technique (en anglais) : ${english}`, english);
}
