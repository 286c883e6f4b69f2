import { describe, expect, it } from 'vitest';
import { cageDetailText } from './cageDetailText';
import { HomeNotReservedError } from './homeReservation';

describe('cage details in both languages', () => {
  it.each([
    ['cage session ended (exit 71): Xvnc exited during start-up', 'la session de la cage s’est terminée (code 71) : Xvnc s’est arrêté au démarrage'],
    ['cage session ended (SIGKILL); its memory limit (512 MiB) was reached', 'la session de la cage s’est terminée (SIGKILL) ; sa limite de mémoire (512 Mio) a été atteinte'],
    ['cage session ended', 'la session de la cage s’est terminée'],
    ['memory limit (512 MiB) reached: the kernel stopped a program in this cage', 'limite de mémoire (512 Mio) atteinte : le noyau a arrêté un programme de cette cage'],
    ['task limit (256) held for 3 checks in a row: the cage was stopped and restarts', 'limite de tâches (256) atteinte 3 vérifications de suite : la cage a été arrêtée et redémarre'],
    ['cage did not start its VNC server within 20000 ms', 'la cage n’a pas démarré son serveur VNC en 20000 ms'],
    ['restarted by the user', 'redémarrée par vous'],
    ['restarted: the cage left running could not be taken back (its bwrap is gone)', 'redémarrée : la cage restée en marche n’a pas pu être reprise (son bwrap a disparu)'],
    ['Xvnc not found: install tigervnc-standalone-server', 'Xvnc introuvable : installez le paquet tigervnc-standalone-server'],
  ])('%s', (en, fr) => {
    expect(cageDetailText(en)).toEqual({ fr, en });
  });

  it('the home refusal a user meets when the state filesystem is full is French, its numbers kept', () => {
    const en = new HomeNotReservedError('/var/lib/cloison/homes/low.img', 300 * 2 ** 20, 100 * 2 ** 20, 64 * 2 ** 20).message;
    const { fr } = cageDetailText(en);
    expect(fr).toMatch(/^dossier personnel non démarré : .*300 Mio.*100 Mio libres.*64 Mio/);
  });

  it('a home from before images not copied: the refusal a user meets, French, its numbers kept', () => {
    const tooBig = "the home from before images could not be copied into its image: the old home (49 MiB) does not fit the image (32 MiB): raise this level's limits.homeBytes; it stays where it was, copied again at the next start";
    expect(cageDetailText(tooBig).fr).toBe('le dossier personnel d’avant les images n’a pas pu être copié dans son image : l’ancien (49 Mio) ne tient pas dans l’image (32 Mio) ; augmentez limits.homeBytes de ce niveau. Il reste où il était, copié de nouveau au prochain démarrage');
    const unreadable = "the home from before images could not be copied into its image (exit 1): cp: cannot open './secret' for reading: Permission denied; it stays where it was, copied again at the next start";
    expect(cageDetailText(unreadable).fr).toBe("le dossier personnel d’avant les images n’a pas pu être copié dans son image (code 1) : cp: cannot open './secret' for reading: Permission denied. Il reste où il était, copié de nouveau au prochain démarrage");
  });

  it("a cage's uid that became an account's or a group's: the start's refusal in French", () => {
    const account = "the cage of \"low\" cannot start: uid 1000 is the alice account's: a cage runs as a uid and gid of its own, no account's or group's (that account's processes and the cage's apps would be one another's to trace and signal, its files the cage's)";
    expect(cageDetailText(account).fr).toMatch(/^la cage « low » ne démarre pas : l’uid 1000 est celui du compte alice ; /);
    const group = "the cage of \"low\" cannot start: uid 61000 is, as the cage's gid, the staff group's: a cage runs as a uid and gid of its own, no account's or group's";
    expect(cageDetailText(group).fr).toMatch(/^la cage « low » ne démarre pas : 61000, son gid, est celui du groupe staff ; /);
  });

  it('several limit notes at once are each translated', () => {
    const en = 'task limit (64) reached: new programs cannot start in this cage; home full (100 MiB): programs in this cage cannot save';
    expect(cageDetailText(en).fr).toBe('limite de tâches (64) atteinte : aucun nouveau programme ne peut démarrer dans cette cage ; dossier personnel plein (100 Mio) : les programmes de cette cage ne peuvent plus enregistrer');
  });

  it('an unknown detail is introduced in French as English technical detail, never passed off as French', () => {
    expect(cageDetailText('ENOSPC write failed')).toEqual({ fr: 'détail technique (en anglais) : ENOSPC write failed', en: 'ENOSPC write failed' });
  });
});

describe('the in-cage launcher’s refusals in French', () => {
  it('a program missing from the cage', async () => {
    const { launcherErrorFr } = await import('./cageLauncher');
    expect(launcherErrorFr('cannot start gimp: ENOENT')).toBe('impossible de lancer gimp : programme introuvable dans la cage');
    expect(launcherErrorFr('cannot start /opt/x: EACCES')).toBe('impossible de lancer /opt/x : permission refusée');
    expect(launcherErrorFr('argv is not an array')).toBe('détail technique (en anglais) : argv is not an array');
  });
});
