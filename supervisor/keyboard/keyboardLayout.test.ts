import { describe, expect, it } from 'vitest';
import { parsePolicy } from '../policy/policyLoader';
import { parseDisplayKeyboard } from '../../shared/keyboardLayout';
import { resolveKeyboardLayout, type HostSources } from './keyboardLayout';

const host = (files: Record<string, string>, localectl: string | null = null): HostSources => ({ readFile: (p) => files[p] ?? null, localectl: () => localectl });

describe('the keyboard layout the cages get', () => {
  it("is the policy's when it names one, whatever the host has", () => {
    const sources = host({ '/etc/default/keyboard': 'XKBLAYOUT="de"\n' });
    expect(resolveKeyboardLayout({ layout: 'fr', variant: 'bepo' }, sources)).toEqual({ layout: 'fr', variant: 'bepo', source: 'policy' });
    expect(resolveKeyboardLayout({ layout: 'gb' }, sources)).toEqual({ layout: 'gb', variant: '', source: 'policy' });
  });

  it("is the host's from /etc/default/keyboard (the first of several), else localectl's, else us", () => {
    const debian = 'XKBMODEL="pc105"\nXKBLAYOUT="fr,us"\nXKBVARIANT="oss,"\nXKBOPTIONS=""\n\nBACKSPACE="guess"\n';
    expect(resolveKeyboardLayout(undefined, host({ '/etc/default/keyboard': debian }))).toEqual({ layout: 'fr', variant: 'oss', source: 'host' });
    const localectl = '   System Locale: LANG=fr_FR.UTF-8\n       VC Keymap: fr\n      X11 Layout: gb\n       X11 Model: pc105\n';
    expect(resolveKeyboardLayout(undefined, host({}, localectl))).toEqual({ layout: 'gb', variant: '', source: 'host' });
    expect(resolveKeyboardLayout(undefined, host({}))).toEqual({ layout: 'us', variant: '', source: 'default' });
  });

  it('takes nothing from a host file that is not a layout name (no path, no option smuggled to setxkbmap)', () => {
    expect(resolveKeyboardLayout(undefined, host({ '/etc/default/keyboard': 'XKBLAYOUT="../../tmp/x"\n' }))).toEqual({ layout: 'us', variant: '', source: 'default' });
    expect(resolveKeyboardLayout(undefined, host({ '/etc/default/keyboard': 'XKBLAYOUT="fr"\nXKBVARIANT="-option"\n' }))).toEqual({ layout: 'us', variant: '', source: 'default' });
  });
});

describe('policy keyboard section', () => {
  const base = 'version: 1\nlevels:\n  - { id: low, rank: 0, label: { fr: Bas, en: Low }, colour: "#1b7f3b", cage: { driver: bwrap } }\n';
  it('takes a layout and a variant', () => {
    expect(parsePolicy(`${base}keyboard: { layout: fr, variant: bepo }\n`, 'p.yaml').keyboard).toEqual({ layout: 'fr', variant: 'bepo' });
    expect(parsePolicy(base, 'p.yaml').keyboard).toBeUndefined();
  });
  it('refuses what is not an XKB name, saying where', () => {
    expect(() => parsePolicy(`${base}keyboard:\n  layout: "fr -option ctrl:swap"\n`, 'p.yaml')).toThrow('p.yaml:5:11: keyboard.layout: layout is an XKB layout name such as fr, us, gb');
    expect(() => parsePolicy(`${base}keyboard: { layout: fr, model: pc105 }\n`, 'p.yaml')).toThrow(/model/);
  });
});

describe("the display's layout (npm start's --display-keyboard, #26)", () => {
  const display = { layout: 'fr', variant: '' };
  it('comes after the policy and before the host files: what the user types with now', () => {
    const files = host({ '/etc/default/keyboard': 'XKBLAYOUT="de"\n' }, '      X11 Layout: gb\n');
    expect(resolveKeyboardLayout({ layout: 'gb' }, files, display)).toEqual({ layout: 'gb', variant: '', source: 'policy' });
    expect(resolveKeyboardLayout(undefined, files, display)).toEqual({ layout: 'fr', variant: '', source: 'display' });
    expect(resolveKeyboardLayout(undefined, files, { layout: 'fr', variant: 'bepo' })).toEqual({ layout: 'fr', variant: 'bepo', source: 'display' });
    expect(resolveKeyboardLayout(undefined, files)).toEqual({ layout: 'de', variant: '', source: 'host' });
    expect(resolveKeyboardLayout(undefined, host({}), display)).toEqual({ layout: 'fr', variant: '', source: 'display' });
  });

  it('is taken only as XKB names (an option or a path is passed over to the host files)', () => {
    const files = host({ '/etc/default/keyboard': 'XKBLAYOUT="de"\n' });
    expect(resolveKeyboardLayout(undefined, files, { layout: 'fr -option ctrl:swap', variant: '' })).toEqual({ layout: 'de', variant: '', source: 'host' });
    expect(resolveKeyboardLayout(undefined, files, { layout: 'fr', variant: '../x' })).toEqual({ layout: 'de', variant: '', source: 'host' });
  });

  it('is read from LAYOUT or LAYOUT:VARIANT on the command line, XKB names only', () => {
    expect(parseDisplayKeyboard('fr')).toEqual({ layout: 'fr', variant: '' });
    expect(parseDisplayKeyboard('fr:bepo')).toEqual({ layout: 'fr', variant: 'bepo' });
    for (const bad of ['', 'FR', 'fr:bepo:x', 'fr,us', ':bepo', 'fr:-option', '../fr', 'fr ctrl:swap', 'a'.repeat(40)]) expect(parseDisplayKeyboard(bad), bad).toBeNull();
  });
});
