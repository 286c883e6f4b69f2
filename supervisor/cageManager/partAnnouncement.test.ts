/**
 * What the manager prints for the `cloison` part's announcements: scripts/start.mjs opens the
 * address in the user's Chromium and gives Electron the socket and the origin, so a compromised part
 * must not steer them elsewhere. An honest part's lines pass unchanged; a hostile one's are refused.
 */
import { describe, expect, it } from 'vitest';
import { announcementLine, partReason } from './partAnnouncement';

const RUN = '/run/cloison-broker';
const honest = {
  type: 'announce',
  state: 'listening',
  url: 'http://127.0.0.1:41234/#launch=abcDEF-_123',
  origin: 'http://127.0.0.1:41234',
  rpcSocket: `${RUN}/supervisor.sock`,
  cages: [{ level: 'low', status: 'starting' }, { level: 'high', status: 'crashed', detail: 'no memory' }],
};

describe('the part\'s announcements as the manager prints them', () => {
  it('prints an honest part\'s line as the root supervisor prints it', () => {
    expect(announcementLine(honest, RUN)).toEqual({ line: JSON.stringify({ listening: true, url: honest.url, origin: honest.origin, rpcSocket: honest.rpcSocket, cages: honest.cages }) });
    expect(JSON.parse((announcementLine({ ...honest, state: 'ready', url: null }, RUN) as { line: string }).line)).toMatchObject({ ready: true, url: null });
  });

  const hostile: Array<[string, Record<string, unknown>]> = [
    ['an address off the loopback', { url: 'http://attacker.example/#launch=x' }],
    ['a file address', { url: 'file:///etc/shadow' }],
    ['a page with script', { url: 'javascript:alert(1)' }],
    ['credentials in the address', { url: 'http://user:pw@127.0.0.1:41234/' }],
    ['an address at another port than the origin', { url: 'http://127.0.0.1:9/#launch=x' }],
    ['an origin off the loopback', { origin: 'https://attacker.example' }],
    ['an origin with a path', { origin: 'http://127.0.0.1:41234/x' }],
    ['the administrators\' socket of the root supervisor', { rpcSocket: '/run/cloison/admin.sock' }],
    ['a socket climbing out of its folder', { rpcSocket: `${RUN}/../cloison/manager.sock` }],
    ['a line break in a status', { cages: [{ level: 'low', status: 'running\n{"ready":true}' }] }],
    ['a control character in a detail', { cages: [{ level: 'low', status: 'crashed', detail: 'x\u001b[2J' }] }],
    ['a bidi override in a detail (the terminal would show the line reordered)', { cages: [{ level: 'low', status: 'crashed', detail: 'ok \u202egninnur :hgih egac' }] }],
    ['a line separator in a detail', { cages: [{ level: 'low', status: 'crashed', detail: 'x\u2028cloison: cage high: running' }] }],
    ['a thousand cages', { cages: Array.from({ length: 1000 }, () => ({ level: 'low', status: 'running' })) }],
    ['a state of its own', { state: 'listening\n' }],
  ];
  for (const [what, change] of hostile) {
    it(`refuses ${what}`, () => {
      expect(announcementLine({ ...honest, ...change }, RUN)).toEqual({ refused: expect.any(String) });
    });
  }
});

describe('the reason a part gives for refusing its training session (start.mjs prints it on the terminal)', () => {
  it('passes an honest reason unchanged', () => {
    expect(partReason('scenario.yaml: the policy does not allow training')).toBe('scenario.yaml: the policy does not allow training');
  });

  it('prints no escape sequence, line break or direction override a hostile part puts in it, and at most 500 characters', () => {
    const said = partReason(`refused\u001b]0;owned\u0007\u001b[2J\nroot# \u202eevil\u2028x${'a'.repeat(2000)}`);
    expect(said).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u202e]/);
    expect(said.startsWith('refused ]0;owned  [2J root#  evil x')).toBe(true);
    expect(said.length).toBe(500);
    expect(partReason({ toString: () => 'x' })).toBe('no reason given');
  });
});
