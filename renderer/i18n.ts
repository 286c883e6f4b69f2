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
