import { describe, expect, it } from 'vitest';
import { MissingBinaryError } from '../system/binaries';
import { loadDefaultPolicy } from '../policy/policyLoader';
import { levelViews } from '../policy/levelViews';
import { RpcSession, type RpcHandlers } from './rpcSession';

const LOCK = { locked: false, failures: 0, retryInMs: 0, tooManyFailures: false, lockAfterSeconds: 180, policyLockAfterSeconds: 180, userMayExtendUpTo: 1800, user: null, beforeSleep: 'unavailable' as const };

const AUDIO = { enabled: true, host: { state: 'none' as const, reason: 'none here' }, microphone: null, levels: [] };

function session(overrides: Partial<RpcHandlers> = {}) {
  const sent: unknown[] = [];
  const handlers: RpcHandlers = {
    'session.describe': () => ({ levels: levelViews(loadDefaultPolicy()), cages: [], focus: 'low', shortcuts: { switchLevel: 'Ctrl+Alt+PageDown', copyOut: 'Ctrl+Alt+C', pasteIn: 'Ctrl+Alt+V', lock: 'Super+L', secureAttention: 'Pause' }, lock: LOCK, tunnels: [], audio: AUDIO, training: null, session: 's', viewers: [], viewerOrigins: {}, keyboard: { layout: 'fr', variant: '', source: 'policy' as const }, locale: 'fr' }),
    'shell.launch': () => ({ url: 'http://127.0.0.1:1/#launch=x', expiresInMs: 1 }),
    'vnc.ticket': () => ({ ticket: 't', path: '/vnc', expiresInMs: 1 }),
    'focus.set': ({ level }) => ({ level }),
    'cage.restart': () => ({}),
    'cage.frameSize': () => ({ screen: null }),
    'input.suspend': ({ suspended }) => ({ suspended }),
    'trust.get': () => ({ phrase: null, symbol: null }),
    'trust.set': () => ({}),
    'clipboard.copy': () => ({ source: 'low', bytes: 1, lines: 1, heldAt: 0, expiresAt: 1, singleUse: true }),
    'clipboard.paste': () => ({ outcome: 'denied' as const }),
    'clipboard.state': () => ({ held: null }),
    'confirm.answer': () => ({}),
    'session.lock': () => ({ ...LOCK, locked: true }),
    'audio.set': () => AUDIO,
    'apps.list': () => ({ levels: [] }),
    'apps.launch': () => ({ pid: 1 }),
    'report.anomaly': () => ({}),
    'viewer.focusTaken': () => ({}),
    'training.answer': () => {
      throw new Error('no training');
    },
    'audio.microphone': () => AUDIO,
    'smartcard.assign': () => ({ exclusive: true, holder: null, levels: [] }),
    'smartcard.pin': () => ({}),
    'session.unlock': () => LOCK,
    'session.activity': () => ({}),
    'session.lockDelay': ({ seconds }) => ({ ...LOCK, lockAfterSeconds: seconds }),
    'files.list': () => ({ entries: [] }),
    'files.transfer': () => ({ results: [] }),
    'files.cancel': () => ({ cancelled: false }),
    'files.rule': () => ({ decision: 'ask' as const, direction: 'up' as const, justificationNeeded: false, encryptTo: [], problem: null }),
    'devices.list': () => ({ devices: [] }),
    'devices.attach': () => Promise.reject(new Error('no device')),
    'devices.eject': () => Promise.reject(new Error('no device')),
    'devices.mark': () => Promise.reject(new Error('no device')),
    'devices.unmark': () => Promise.reject(new Error('no device')),
    'devices.dismiss': () => {
      throw new Error('no device');
    },
    ...overrides,
  };
  const s = new RpcSession(handlers, (text) => sent.push(JSON.parse(text)));
  return { s, sent };
}

describe('RPC session', () => {
  it('answers a missing program with its clear message and package, in both languages, not "internal error"', async () => {
    const { s, sent } = session({
      'clipboard.copy': () => {
        throw new MissingBinaryError('xclip');
      },
    });
    await s.receive(JSON.stringify({ type: 'request', id: 9, method: 'clipboard.copy', params: { level: 'low' } }));
    expect(sent).toEqual([{ type: 'response', id: 9, ok: false, error: { code: 'MISSING_PROGRAM', message: 'xclip not found: install xclip', text: { fr: 'xclip introuvable : installez le paquet xclip', en: 'xclip not found: install xclip' } } }]);
  });

  it('answers a valid request with a validated result', async () => {
    const { s, sent } = session();
    await s.receive(JSON.stringify({ type: 'request', id: 1, method: 'focus.set', params: { level: 'high' } }));
    expect(sent).toEqual([{ type: 'response', id: 1, ok: true, result: { level: 'high' } }]);
  });

  it.each([
    ['not JSON', '{', -1, 'BAD_REQUEST', /not JSON/],
    ['not a request frame', JSON.stringify({ hello: 1 }), -1, 'BAD_REQUEST', /bad request frame/],
    ['an unknown method', JSON.stringify({ type: 'request', id: 2, method: 'cage.exec', params: {} }), 2, 'UNKNOWN_METHOD', /unknown method "cage.exec"/],
    ['a prototype key as method', JSON.stringify({ type: 'request', id: 3, method: '__proto__', params: {} }), 3, 'UNKNOWN_METHOD', /unknown method/],
    ['a bad level id', JSON.stringify({ type: 'request', id: 4, method: 'focus.set', params: { level: '../high' } }), 4, 'BAD_REQUEST', /focus.set: level/],
    ['an extra parameter', JSON.stringify({ type: 'request', id: 5, method: 'vnc.ticket', params: { level: 'low', socket: '/x' } }), 5, 'BAD_REQUEST', /vnc.ticket/],
    ['a missing parameter', JSON.stringify({ type: 'request', id: 6, method: 'vnc.ticket', params: {} }), 6, 'BAD_REQUEST', /level/],
    ['an oversized frame', JSON.stringify({ type: 'request', id: 7, method: 'focus.set', params: { level: 'x'.repeat(70_000) } }), -1, 'LIMIT_EXCEEDED', /64 ?\d*|over/],
  ])('answers %s with a typed error and stays usable', async (_name, text, id, code, message) => {
    const { s, sent } = session();
    await s.receive(text);
    expect(sent[0]).toMatchObject({ type: 'response', id, ok: false, error: { code, message: expect.stringMatching(message) } });
    await s.receive(JSON.stringify({ type: 'request', id: 9, method: 'focus.set', params: { level: 'low' } }));
    expect(sent[1]).toMatchObject({ id: 9, ok: true });
  });

  it.each([
    ['too short', { phrase: 'abc', symbol: null }, /at least 4/],
    ['with a bidi override', { phrase: 'mon \u202etexte', symbol: null }, /control or invisible/],
    ['with a made-up symbol', { phrase: 'une phrase', symbol: 'X' }, /symbol/],
  ])('refuses a trust phrase %s', async (_name, params, message) => {
    const { s, sent } = session();
    await s.receive(JSON.stringify({ type: 'request', id: 1, method: 'trust.set', params }));
    expect(sent[0]).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST', message: expect.stringMatching(message) } });
  });

  it('hides internal errors but passes typed ones', async () => {
    const { s, sent } = session({
      'vnc.ticket': () => {
        throw new Error('secret path /var/lib/x');
      },
    });
    await s.receive(JSON.stringify({ type: 'request', id: 1, method: 'vnc.ticket', params: { level: 'low' } }));
    expect(sent[0]).toEqual({ type: 'response', id: 1, ok: false, error: { code: 'INTERNAL', message: 'internal error' } });
  });

  it('refuses to send a result that breaks the contract', async () => {
    const { s, sent } = session({ 'focus.set': () => ({ level: 'NOT A LEVEL' }) });
    await s.receive(JSON.stringify({ type: 'request', id: 1, method: 'focus.set', params: { level: 'low' } }));
    expect(sent[0]).toMatchObject({ ok: false, error: { code: 'INTERNAL' } });
  });
});
