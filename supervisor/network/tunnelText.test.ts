import { describe, expect, it } from 'vitest';
import { tunnelText } from './tunnelText';

describe('tunnel reasons in both languages', () => {
  it.each([
    ['no handshake for 200 s: nothing leaves this cage', 'aucun échange depuis 200 s : rien ne sort de cette cage'],
    ['wireguard-go ended (exit 1): this cage has no route at all', 'wireguard-go s’est arrêté (code 1) : cette cage n’a aucune route'],
    ['wireguard-go did not start: no control socket: this cage has no route at all', 'wireguard-go n’a pas démarré : pas de prise de contrôle : cette cage n’a aucune route'],
    ['ip link set wg-high failed: RTNETLINK answers: File exists: this cage has no route at all', 'ip link set wg-high a échoué : RTNETLINK answers: File exists : cette cage n’a aucune route'],
  ])('%s', (en, fr) => {
    expect(tunnelText(en)).toEqual({ fr, en });
  });

  it('an unknown reason is introduced in French, its words kept', () => {
    expect(tunnelText('policy.toml:3: bad key').fr).toBe('détail technique (en anglais) : policy.toml:3: bad key');
  });
});
