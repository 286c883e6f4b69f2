/**
 * The trusted application launcher: a button in the band and the menu it opens, listing each
 * level's applications under that level's name and colour, with the host's name and icon for each.
 * Choosing one starts it in that level's cage and brings the cage to the front.
 * Trust rule: every entry comes from the supervisor's reading of the policy and the host's files
 * (trusted path, property 2); no cage-supplied string or image is ever drawn here.
 */
import { useEffect, useRef, useState } from 'react';
import type { LevelApps } from '../../shared/rpc';
import { textFor } from '../i18n';
import { useShell, useShellState } from '../shellContext';
import { errorText } from '../supervisorText';
import { useDialogKeys } from './dialogKeys';

export function AppLauncherButton() {
  const { store } = useShell();
  const open = useShellState((s) => s.appsOpen);
  const t = textFor(useShellState((s) => s.locale)).apps;
  return (
    <button type="button" className="band__menu band__apps" data-testid="open-apps" aria-expanded={open} title={t.open} aria-label={t.open} onClick={() => store.getState().setAppsOpen(!open)} onKeyDown={(e) => e.key === 'Escape' && store.getState().setAppsOpen(false)}>
      <span className="band__icon" aria-hidden="true">▦</span> <span className="band__label">{t.open}</span>
    </button>
  );
}

export function AppLauncherMenu() {
  const open = useShellState((s) => s.appsOpen);
  return open ? <AppMenu /> : null;
}

function AppMenu() {
  const { api, store, switchTo } = useShell();
  const levels = useShellState((s) => s.levels);
  const cages = useShellState((s) => s.cages);
  const locale = useShellState((s) => s.locale);
  const t = textFor(locale).apps;
  const [lists, setLists] = useState<LevelApps[] | null>(null);
  const refresh = () =>
    api.call('apps.list', {}).then(
      (r) => setLists(r.levels),
      (err: Error) => store.getState().setNotice(errorText(store.getState().locale, err), 'refused', null),
    );
  useEffect(() => {
    void refresh();
    // The running counts follow applications closed in the cage while the menu is open.
    const timer = setInterval(() => void refresh(), 2000);
    return () => clearInterval(timer);
  }, []);
  const close = () => store.getState().setAppsOpen(false);
  const menu = useRef<HTMLDivElement>(null);
  useDialogKeys(menu, { onEscape: close });
  const start = (level: string, id: string) => {
    close();
    switchTo(level);
    api.call('apps.launch', { level, id }).then(
      () => undefined,
      (err: Error) => store.getState().setNotice(errorText(store.getState().locale, err), 'refused', level),
    );
  };
  return (
    <div ref={menu} className="apps" data-testid="apps-menu" role="menu">
      {levels.map((level) => {
        const apps = lists?.find((l) => l.level === level.id)?.apps ?? [];
        const running = cages[level.id]?.status === 'running';
        return (
          <section key={level.id} className="apps__level" data-testid={`apps-level-${level.id}`} style={{ borderTopColor: level.colour }}>
            <h2 className="apps__title" style={{ backgroundColor: level.colour, color: level.textColour }}>
              {level.label[locale]}
            </h2>
            {apps.length === 0 ? <p className="apps__empty">{lists ? t.none : t.loading}</p> : null}
            <ul className="apps__list">
              {apps.map((app, index) => (
                <li key={app.id}>
                  <button
                    type="button"
                    role="menuitem"
                    className="apps__item"
                    data-testid={`app-${level.id}-${app.id}`}
                    data-running={app.running}
                    disabled={!running}
                    autoFocus={index === 0 && level.id === levels[0]?.id}
                    title={`${app.name[locale]} — ${level.label[locale]}`}
                    onClick={() => start(level.id, app.id)}
                  >
                    {app.icon ? <img className="apps__icon" src={app.icon} alt="" /> : <span className="apps__icon apps__icon--letter" style={{ backgroundColor: level.colour, color: level.textColour }}>{[...app.name[locale]][0]?.toUpperCase()}</span>}
                    <span className="apps__name">{app.name[locale]}</span>
                    {app.running > 0 ? (
                      <span className="apps__running" data-testid={`app-running-${level.id}-${app.id}`} title={t.running}>
                        ● {app.running}
                      </span>
                    ) : null}
                  </button>
                </li>
              ))}
            </ul>
          </section>
        );
      })}
    </div>
  );
}
