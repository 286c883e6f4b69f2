import { describe, expect, it } from 'vitest';
import { ProxyJournal, type CardEvent } from './proxyJournal';

const line = (pid: number, message: string) => `[Fri Dec  4 23:33:31 2026] [cloison-card-high] [info] [PKCS#11 FILTER pid ${pid}] [DEBUG_LEVEL 1/1] ${message}`;

describe('card proxy journal', () => {
  it('turns refusals into events naming the function and the object last asked about in that worker', () => {
    const events: CardEvent[] = [];
    const journal = new ProxyJournal((e) => events.push(e));
    journal.line(line(10, "C_GetAttributeValue: label 'high-secret' is not filtered for alias 'cloison'"));
    journal.line(line(11, "C_GetAttributeValue: label 'other' is not filtered for alias 'cloison'"));
    journal.line(line(10, '[User defined extensions]: SENSITIVE_LEAK asked during C_GetAttributeValue for a NON EXTRACTABLE key'));
    journal.line(line(10, 'Blocking function C_SetPIN'));
    journal.line(line(12, "C_SignInit: label 'high-sign' is FILTERED for alias 'cloison'"));
    journal.line(line(12, "C_FindObjects: label 'high-sign' is FILTERED for alias 'cloison'"));
    journal.line(line(12, ' ######### Identity hook called for C_Login!'));
    expect(events).toEqual([
      { kind: 'refused', function: 'C_GetAttributeValue', label: 'high-secret', reason: 'sensitive-value' },
      { kind: 'refused', function: 'C_SetPIN', label: 'high-secret', reason: 'denied-function' },
      { kind: 'refused', function: 'C_SignInit', label: 'high-sign', reason: 'hidden-object' },
      { kind: 'login' },
    ]);
  });

  it('drops every other line: no PIN-bearing hook output, no lines of another shape, nothing oversize', () => {
    const events: CardEvent[] = [];
    const journal = new ProxyJournal((e) => events.push(e));
    journal.line(line(1, ' ######### Passthrough C_Login with pin 123456!'));
    journal.line('Blocking function C_SetPIN');
    journal.line(line(1, `Blocking function C_SetPIN${'x'.repeat(2000)}`));
    journal.line('[netplex.controller] [crit] Uncaught exception: Unix.Unix_error(Unix.EPIPE, "mem_send", "")');
    expect(events).toEqual([]);
  });

  it('keeps labels printable and short', () => {
    const events: CardEvent[] = [];
    new ProxyJournal((e) => events.push(e)).line(line(3, `C_SignInit: label 'a\u001b[31m${'b'.repeat(100)}' is FILTERED for alias 'cloison'`));
    expect(events[0]).toMatchObject({ label: `a?[31m${'b'.repeat(58)}` });
  });
});
