/**
 * The file broker's reasons in both languages. The file helper (a sandboxed .mjs that knows no
 * locale) writes its refusals in English on stderr; they are translated here by their shape, and an
 * unknown one is given in French as "refused by the file helper" followed by its English words.
 */
import { bilingual, type Bilingual } from '../../shared/bilingual';

/** A level as reasons name it: its id in English (as the journal always had it), its French label. */
type Named = { id: string; label: { fr: string } };

const DIRECTION_FR = { up: 'vers le haut', down: 'vers le bas', lateral: 'latéraux' } as const;

/** The helper's own refusals (fileHelper.mjs `refuse(...)`), English pattern → French. */
const HELPER: Array<[RegExp, (...m: string[]) => string]> = [
  [/^empty or overlong path$/, () => 'chemin vide ou trop long'],
  [/^a name contains NUL$/, () => 'un nom contient le caractère NUL'],
  [/^absolute paths leave the home$/, () => 'un chemin absolu sort du dossier personnel'],
  [/^"\.\." leaves the home$/, () => '« .. » sort du dossier personnel'],
  [/^no such file: (.*)$/s, (p) => `fichier introuvable : ${p}`],
  [/^(.*) goes through a symbolic link$/s, (p) => `${p} passe par un lien symbolique`],
  [/^(.*): a parent is not a directory$/s, (p) => `${p} : un dossier parent n’est pas un dossier`],
  [/^(.*) is not a directory$/s, (p) => `${p} n’est pas un dossier`],
  [/^no identity to check the file against$/, () => 'aucune identité à laquelle comparer le fichier'],
  [/^(.*) is not a regular file$/s, (p) => `${p} n’est pas un fichier ordinaire`],
  [/^(.*) has other names \(hard links\): its content could change through them$/s, (p) => `${p} a d’autres noms (liens physiques) : son contenu pourrait changer par eux`],
  [/^(.*) changed between the listing and the copy$/s, (p) => `${p} a changé entre la liste et la copie`],
  [/^(.*) grew while being copied$/s, (p) => `${p} a grossi pendant la copie`],
  [/^(.*) changed while being copied$/s, (p) => `${p} a changé pendant la copie`],
  [/^(.*) exists and is not a plain directory$/s, (p) => `${p} existe et n’est pas un simple dossier`],
  [/^refused file name$/, () => 'nom de fichier refusé'],
  [/^the staged copy did not land whole \((\d+) of (\d+) bytes\)$/, (a, b) => `la copie n’est pas arrivée entière (${a} octets sur ${b})`],
  [/^transfer abandoned$/, () => 'transfert abandonné'],
  [/^no free name for the file$/, () => 'aucun nom libre pour le fichier'],
  // The `cloison` part's remote homes (cageManager/remoteCageHomes.ts) and the serving helper.
  [/^(\d+) bytes to write into (.*), over the (\d+) bytes a write there may stage$/s, (n, l, max) => `${n} octets à écrire dans ${l}, au-delà des ${max} octets qu’une écriture peut y préparer`],
  [/^(\d+) bytes to stage, (\d+) of (\d+) left: commit or drop a staged write first$/, (n, left, max) => `${n} octets à préparer, ${left} libres sur ${max} : une écriture préparée doit d’abord aboutir ou être abandonnée`],
  [/^more than the (\d+) bytes announced$/, (n) => `plus que les ${n} octets annoncés`],
  [/^the file helper's channel closed$/, () => 'le canal de l’assistant de fichiers s’est fermé'],
  [/^the cage manager gave no file helper for level (.*?): (.*)$/s, (l, why) => `le gestionnaire des cages n’a pas donné d’assistant de fichiers pour le niveau ${l} : ${why}`],
];

/** A refusal or failure the file helper wrote (English), in both languages. */
export function helperReason(english: string): Bilingual {
  const en = english.trim();
  for (const [shape, fr] of HELPER) {
    const m = shape.exec(en);
    if (m) return bilingual(fr(...m.slice(1)), en);
  }
  return bilingual(`refusé par l’assistant de fichiers : ${en}`, en);
}

export const fileReasons = {
  forbidden: (direction: keyof typeof DIRECTION_FR, from: Named, to: Named) =>
    bilingual(`la politique interdit les transferts de fichiers ${DIRECTION_FR[direction]} de ${from.label.fr} à ${to.label.fr}`, `the policy forbids ${direction} file transfers from ${from.id} to ${to.id}`),
  sameLevel: () => bilingual('la source et la destination sont le même niveau', 'source and destination are the same level'),
  busy: () => bilingual('un transfert est déjà en cours', 'a transfer is already running'),
  needsJustification: () => bilingual('un transfert en clair vers un niveau plus bas demande une justification écrite', 'a transfer to a lower level in clear needs a written justification'),
  justificationTooLong: (max: number) => bilingual(`justification de plus de ${max} caractères`, `justification over ${max} characters`),
  tooMany: (count: number, max: number) => bilingual(`${count} fichiers dépassent la limite de ${max} par transfert`, `${count} files is over the limit of ${max} per transfer`),
  diodeCannotEncrypt: (why: string) => bilingual(`la diode ne peut pas chiffrer : ${why}`, `the diode cannot encrypt: ${why}`),
  unreadable: () => bilingual('illisible', 'cannot read it'),
  notRegular: (kind: string) => bilingual(`pas un fichier ordinaire (${kind})`, `not a regular file (${kind})`),
  hardLinks: () => bilingual('il a d’autres noms (liens physiques) : son contenu pourrait changer par eux', 'it has other names (hard links): its content could change through them'),
  tooLarge: (size: number, max: number) => bilingual(`${size} octets dépassent la limite de ${max} octets par fichier`, `${size} bytes is over the ${max}-byte limit per file`),
  totalTooLarge: (max: number) => bilingual(`le transfert dépasserait ${max} octets`, `the transfer would exceed ${max} bytes`),
  typeNotAllowed: (type: string, from: Named, to: Named) =>
    bilingual(`son contenu est de type ${type}, que la politique n’autorise pas de ${from.label.fr} à ${to.label.fr}`, `its content is ${type}, which the policy does not allow from ${from.id} to ${to.id}`),
  scannerRefused: (said: string) => bilingual(`refusé par l’analyseur : ${said}`, `scanner refused the file: ${said}`),
  timedOut: () => bilingual('pas de réponse à temps', 'no answer in time'),
  refusedByUser: () => bilingual('refusé par vous', 'refused by the user'),
  cancelled: () => bilingual('annulé', 'cancelled'),
  readerExited: (code: number) => bilingual(`la lecture s’est arrêtée (code ${code})`, `reader exited ${code}`),
  writerExited: (code: number) => bilingual(`l’écriture s’est arrêtée (code ${code})`, `writer exited ${code}`),
  grew: (name: string) => bilingual(`${name} a grossi pendant la copie`, `${name} grew while being copied`),
  changedSize: (name: string) => bilingual(`${name} a changé de taille pendant la copie`, `${name} changed size while being copied`),
  copyFailed: (why: string) => bilingual(`la copie a échoué : ${why}`, why),
  encryptFailed: (why: string) => bilingual(`le chiffrement a échoué : ${why}`, why),
  noReachableFiles: (level: string) => bilingual(`les fichiers de la cage « ${level} » sont hors de portée du superviseur (VNC externe)`, `cage "${level}" has no files the supervisor can reach (external VNC endpoint)`),
  unknownLevel: (id: string) => bilingual(`aucun niveau « ${id} » dans la politique`, `no level "${id}" in the policy`),
  cannotList: (why: Bilingual | null) => why ?? bilingual('impossible de lister ce dossier', 'cannot list that directory'),
};
