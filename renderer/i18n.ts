/**
 * Shell text in French and English. French is the default; English when the system locale is English.
 */
import type { Locale } from './store/shellStore';

const TEXT = {
  fr: {
    level: 'Niveau',
    switchTo: 'Passer au niveau',
    shortcut: 'Raccourci',
    status: { starting: 'démarrage…', running: 'en service', crashed: 'arrêtée (panne)', stopped: 'arrêtée' },
    cageStarting: 'La cage démarre…',
    cageCrashed: 'La cage s’est arrêtée',
    cageStopped: 'La cage est arrêtée',
    cageUnreachable: 'Affichage de la cage injoignable',
    retry: 'Relancer',
    linkLost: 'Liaison avec le superviseur perdue',
    connecting: 'Connexion au superviseur…',
    cage: 'Cage',
    keyboard: 'clavier',
    menu: 'Menu de confiance',
    overviewTitle: 'Vue de confiance',
    splitView: 'Vue partagée',
    singleView: 'Vue simple',
    trustChange: 'Changer la phrase de confiance',
    trustFirstTitle: 'Choisissez votre phrase de confiance',
    trustChangeTitle: 'Nouvelle phrase de confiance',
    trustExplain: 'Cloison l’affichera dans son bandeau et dans chacune de ses fenêtres. Aucune cage ne la connaît : un bandeau ou une fenêtre sans votre phrase n’est pas de Cloison.',
    trustPhrase: 'Phrase (4 à 60 caractères)',
    trustSymbol: 'Symbole',
    save: 'Enregistrer',
    cancel: 'Annuler',
    close: 'Fermer (Échap)',
  },
  en: {
    level: 'Level',
    switchTo: 'Switch to level',
    shortcut: 'Shortcut',
    status: { starting: 'starting…', running: 'running', crashed: 'crashed', stopped: 'stopped' },
    cageStarting: 'The cage is starting…',
    cageCrashed: 'The cage has crashed',
    cageStopped: 'The cage is stopped',
    cageUnreachable: 'Cage display unreachable',
    retry: 'Retry',
    linkLost: 'Lost the link to the supervisor',
    connecting: 'Connecting to the supervisor…',
    cage: 'Cage',
    keyboard: 'keyboard',
    menu: 'Trusted menu',
    overviewTitle: 'Trusted overview',
    splitView: 'Split view',
    singleView: 'Single view',
    trustChange: 'Change the trust phrase',
    trustFirstTitle: 'Choose your trust phrase',
    trustChangeTitle: 'New trust phrase',
    trustExplain: 'Cloison shows it in its band and in each of its dialogs. No cage knows it: a band or dialog without your phrase is not Cloison’s.',
    trustPhrase: 'Phrase (4 to 60 characters)',
    trustSymbol: 'Symbol',
    save: 'Save',
    cancel: 'Cancel',
    close: 'Close (Esc)',
  },
} as const;

export type Text = (typeof TEXT)[Locale];

export function textFor(locale: Locale): Text {
  return TEXT[locale];
}

export function localeFrom(languages: readonly string[]): Locale {
  const first = (languages[0] ?? 'fr').toLowerCase();
  return first.startsWith('en') ? 'en' : 'fr';
}
