import { describe, expect, it } from 'vitest';
import { smartcardLevelSchema } from '../../shared/smartcardPolicy';
import { filterConfig, serverConfig } from './cardFilterConfig';

describe('card filter configuration', () => {
  it('hides all but the level\'s labels, refuses the default functions and wrapping, and keeps key values in', () => {
    const text = filterConfig('/usr/lib/softhsm/libsofthsm2.so', smartcardLevelSchema.parse({ objects: ['high-sign', 'mail key'] }));
    expect(text).toContain('allowed_labels = [("cloison", ["high-sign$", "mail key$"])]');
    expect(text).not.toContain('allowed_ids');
    expect(text).toMatch(/forbidden_functions = \[\("cloison", \[C_SetPIN, C_InitToken, C_InitPIN, C_SetAttributeValue, C_CopyObject, C_DestroyObject, .*C_WrapKey\]\)\]/);
    expect(text).toContain('forbid_admin_operations = [("cloison", yes)]');
    expect(text).toContain('enforce_ro_sessions = [("cloison", yes)]');
    expect(text).toContain('(C_GetAttributeValue, prevent_sensitive_leak_patch)');
  });

  it('filters by id when the level lists ids; export allowed drops the leak patch and lets C_WrapKey through', () => {
    const text = filterConfig('/m.so', smartcardLevelSchema.parse({ objects: [{ id: '01a2' }], allowExport: true, deny: ['C_SetPIN'] }));
    expect(text).toContain('allowed_ids = [("cloison", ["01a2$"])]');
    expect(text).toContain('forbidden_functions = [("cloison", [C_SetPIN])]');
    expect(text).not.toContain('prevent_sensitive_leak_patch');
  });

  it('never lets a path end its string', () => {
    expect(serverConfig('high', { socket: '/run/a"b', netplexDir: '/n', filterConfig: '/f' })).toContain('path = "/run/a\\"b"');
    expect(() => filterConfig('/m\n.so', smartcardLevelSchema.parse({ objects: ['x'] }))).toThrow(/control character/);
  });
});
