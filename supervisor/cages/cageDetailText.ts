/**
 * A cage state's detail (why it crashed or stopped, a limit reached while it runs) in both
 * languages. The details are written in English where they arise (driver, launcher, limits,
 * home reservation) and go to the log and journal so; the shell gets them translated here by their
 * shape. One this table does not know still reaches a French shell introduced in French.
 */
import { bilingual, type Bilingual } from '../../shared/bilingual';

const SESSION_EXITS_FR: Record<string, string> = {
  'no FIFO for the X server\'s readiness': 'pas de tube pour savoir quand le serveur X est prêt',
  'Xvnc exited during start-up': 'Xvnc s’est arrêté au démarrage',
  'Xvnc exited': 'Xvnc s’est arrêté',
};

const SHAPES: Array<[RegExp, (...m: string[]) => string]> = [
  [/^cage session ended \(([^)]*)\)(?:: ([^;]*))?(?:; its memory limit \((\d+) MiB\) was reached)?$/, (how, known, mib) =>
    `la session de la cage s’est terminée (${how.replace(/^exit /, 'code ')})${known ? ` : ${SESSION_EXITS_FR[known] ?? known}` : ''}${mib ? ` ; sa limite de mémoire (${mib} Mio) a été atteinte` : ''}`],
  [/^cage session ended$/, () => 'la session de la cage s’est terminée'],
  [/^cannot start bwrap: (.*)$/s, (e) => `bwrap ne démarre pas : ${e}`],
  [/^memory limit \((\d+) MiB\) reached: the kernel stopped a program in this cage$/, (n) => `limite de mémoire (${n} Mio) atteinte : le noyau a arrêté un programme de cette cage`],
  [/^task limit \((\d+)\) reached: new programs cannot start in this cage$/, (n) => `limite de tâches (${n}) atteinte : aucun nouveau programme ne peut démarrer dans cette cage`],
  [/^home full \((\d+) MiB\): programs in this cage cannot save$/, (n) => `dossier personnel plein (${n} Mio) : les programmes de cette cage ne peuvent plus enregistrer`],
  [/^task limit \((\d+)\) held for (\d+) checks in a row: the cage was stopped and restarts$/, (n, k) => `limite de tâches (${n}) atteinte ${k} vérifications de suite : la cage a été arrêtée et redémarre`],
  [/^home not started: its image needs (\d+) MiB more of the state filesystem, which has (\d+) MiB free and keeps (\d+) MiB for the audit journal; free space there or lower this level's limits\.homeBytes$/, (need, free, keep) =>
    `dossier personnel non démarré : son image demande ${need} Mio de plus sur le système de fichiers d’état, qui a ${free} Mio libres et en garde ${keep} Mio pour le journal d’audit ; libérez de la place ou baissez limits.homeBytes de ce niveau`],
  // cageUidAccounts.ts, asked again at the start: the cage's uid became an account's or a group's
  [/^the cage of "(.*)" cannot start: uid (\d+) is the ([^:]+) account's: a cage runs as a uid and gid of its own/, (l, uid, name) =>
    `la cage « ${l} » ne démarre pas : l’uid ${uid} est celui du compte ${name} ; une cage tourne sous un uid et un gid à elle, ceux d’aucun compte ni groupe (ce compte et les applications de la cage pourraient s’espionner et s’envoyer des signaux, ses fichiers seraient à la cage)`],
  [/^the cage of "(.*)" cannot start: uid (\d+) is, as the cage's gid, the ([^:]+) group's/, (l, uid, name) =>
    `la cage « ${l} » ne démarre pas : ${uid}, son gid, est celui du groupe ${name} ; une cage tourne sous un uid et un gid à elle, ceux d’aucun compte ni groupe`],
  [/^the cage of "(.*)" cannot start: uid (\d+): cannot tell whether an account or a group has it, so refused: (.*)$/s, (l, uid, e) =>
    `la cage « ${l} » ne démarre pas : impossible de savoir si un compte ou un groupe a l’uid ${uid}, donc refusé : ${e}`],
  // homeMigration.ts: a home from before images not copied (it stays, copied again at the next start)
  [/^the home from before images could not be copied into its image: the old home(?: \((\d+) MiB\))? does not fit the image \((\d+) MiB\): raise this level's limits\.homeBytes; it stays where it was, copied again at the next start$/, (old, image) =>
    `le dossier personnel d’avant les images n’a pas pu être copié dans son image : l’ancien${old ? ` (${old} Mio)` : ''} ne tient pas dans l’image (${image} Mio) ; augmentez limits.homeBytes de ce niveau. Il reste où il était, copié de nouveau au prochain démarrage`],
  [/^the home from before images could not be copied into its image \(([^)]*)\): (.*); it stays where it was, copied again at the next start$/s, (how, e) =>
    `le dossier personnel d’avant les images n’a pas pu être copié dans son image (${how.replace(/^exit /, 'code ')}) : ${e}. Il reste où il était, copié de nouveau au prochain démarrage`],
  [/^bwrap cages need the supervisor to run as root/, () => 'les cages bwrap demandent que le superviseur tourne en root (montages, groupes de contrôle, uid par niveau)'],
  [/^the cage sandbox ended during start-up$/, () => 'le bac à sable de la cage s’est arrêté au démarrage'],
  [/^cage "(.*)" replaced its VNC socket during start-up$/, (l) => `la cage « ${l} » a remplacé sa prise VNC au démarrage`],
  [/^cage did not start its VNC server within (\d+) ms$/, (n) => `la cage n’a pas démarré son serveur VNC en ${n} ms`],
  [/^cage launcher missing from the installation/, () => 'le lanceur de la cage manque à l’installation (cageLauncherInCage.mjs)'],
  [/^bwrap info pipe missing$/, () => 'le canal d’information de bwrap manque'],
  [/^stopped by the supervisor$/, () => 'arrêtée par le superviseur'],
  [/^supervisor shutting down$/, () => 'le superviseur s’arrête'],
  [/^restarted by the user$/, () => 'redémarrée par vous'],
  [/^restarting: its definition changed in the policy$/, () => 'redémarrage : sa définition a changé dans la politique'],
  [/^restarted: the cage left running could not be taken back \((.*)\)$/s, (why) => `redémarrée : la cage restée en marche n’a pas pu être reprise (${known(why) ?? why})`],
  // cageAdoption.ts: why a cage left running was not taken back
  [/^it was started by another version of Cloison \(record format (\d+), this one reads (\d+)\)$/, (a, b) => `elle a été démarrée par une autre version de Cloison (format d’enregistrement ${a}, celle-ci lit ${b})`],
  [/^its record names another level or uid$/, () => 'son enregistrement nomme un autre niveau ou un autre uid'],
  [/^its definition changed in the policy meanwhile: restarted, as a reload would$/, () => 'sa définition a changé dans la politique entre-temps : redémarrée, comme le ferait un rechargement'],
  [/^its bwrap is gone$/, () => 'son bwrap a disparu'],
  [/^its Xvnc is gone or is not the recorded one$/, () => 'son Xvnc a disparu ou n’est pas celui enregistré'],
  [/^its control group is gone$/, () => 'son groupe de contrôle a disparu'],
  [/^its processes are not in its control group$/, () => 'ses processus ne sont pas dans son groupe de contrôle'],
  [/^its VNC socket is missing or not its own$/, () => 'sa prise VNC manque ou n’est pas la sienne'],
  [/^its VNC socket did not answer as its own Xvnc: (.*)$/s, (e) => `sa prise VNC n’a pas répondu comme son propre Xvnc : ${e}`],
  // binaries.ts: a host program missing
  [/^(\S+) not found: install (\S+)$/, (b, p) => `${b} introuvable : installez le paquet ${p}`],
  [/^(\S+) not found in PATH$/, (b) => `${b} introuvable dans le PATH`],
];

export function cageDetailText(english: string): Bilingual {
  const parts = english.split('; ');
  // Several limit notes are joined by "; " (cageLifecycle.ts): each is translated on its own.
  if (parts.length > 1 && parts.every((p) => known(p))) return bilingual(parts.map((p) => known(p)!).join(' ; '), english);
  return bilingual((known(english) ?? `détail technique (en anglais) : ${english}`).slice(0, 1000), english);
}

function known(english: string): string | null {
  for (const [shape, fr] of SHAPES) {
    const m = shape.exec(english);
    if (m) return fr(...m.slice(1).map((s) => s ?? ''));
  }
  return null;
}
