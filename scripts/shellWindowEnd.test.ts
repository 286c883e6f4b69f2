/**
 * What npm start says when the shell's Chromium ends by itself (issue #26): its exit code or
 * signal and its last lines, in French or English. start.test.ts kills a real Chromium at its start.
 */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { outputTail, SHELL_TAIL_LINES, shellWindowEndMessage } from './shellWindowEnd.mjs';

describe('the shell window end message', () => {
  it('keeps the last lines of both streams, long lines cut, and settles once both have ended', async () => {
    const [out, err] = [new PassThrough(), new PassThrough()];
    const tail = outputTail([out, err]);
    for (let i = 0; i < SHELL_TAIL_LINES + 5; i++) err.write(`line ${i}\n`);
    out.write(`${'x'.repeat(1000)}\n`);
    out.end();
    err.end('last, unterminated');
    await tail.settled(5000);
    const lines = tail.lines();
    expect(lines).toHaveLength(SHELL_TAIL_LINES);
    expect(lines.at(-1)).toBe('last, unterminated');
    expect(lines).toContain(`${'x'.repeat(400)}…`);
    expect(lines[0]).toBe('line 7');
  });

  it('settles after its wait when a stream stays open (a child of the browser holding the pipe)', async () => {
    const held = new PassThrough();
    const tail = outputTail([held]);
    held.write('one\n');
    const t0 = Date.now();
    await tail.settled(100);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(tail.lines()).toEqual(['one']);
  });

  it('says the signal or the status, when, and the lines, in French', () => {
    const text = shellWindowEndMessage({ code: null, signal: 'SIGSEGV', lines: ['[1:1:ERROR:x.cc] boom'], reachedShell: false, locale: 'fr' });
    expect(text).toBe(
      'cloison: la fenêtre de Cloison (Chromium) s’est arrêtée d’elle-même avant d’avoir ouvert Cloison (tué par le signal SIGSEGV) : npm start arrête tout.\n' +
        'cloison: Les dernières lignes écrites par Chromium (1) :\n' +
        'cloison:   | [1:1:ERROR:x.cc] boom\n' +
        'cloison: Joignez ces lignes à votre signalement.\n',
    );
  });

  it('in English, a status, nothing printed', () => {
    const text = shellWindowEndMessage({ code: 1, signal: null, lines: [], reachedShell: true, locale: 'en' });
    expect(text).toContain("Cloison's window (Chromium) ended by itself after it had opened Cloison (exit code 1): npm start stops everything.");
    expect(text).toContain('Chromium printed nothing.');
  });

  it('status 0 before the shell: closed, not called a crash', () => {
    expect(shellWindowEndMessage({ code: 0, signal: null, lines: [], reachedShell: false, locale: 'fr' })).toContain('la fenêtre de Cloison (Chromium) s’est fermée avant d’avoir ouvert Cloison (code de sortie 0)');
  });

  it('Electron, whose output is npm start\'s own', () => {
    expect(shellWindowEndMessage({ code: 134, signal: null, lines: null, reachedShell: true, locale: 'en', host: 'Electron' })).toContain('What Electron printed is above.');
  });
});
