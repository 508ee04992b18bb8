import { describe, expect, it } from 'vitest';
import type { AccountInput } from './backend';
import { MockBackend } from './mock-backend';

const input = (over: Partial<AccountInput> = {}): AccountInput => ({
  id: null,
  display_name: 'Alice Example',
  sip_address: 'sip:alice@example.com',
  auth_user: '',
  registrar: '',
  transport: 'auto',
  password: null,
  ...over,
});

describe('MockBackend', () => {
  it('adds, edits and removes accounts', async () => {
    const b = new MockBackend();
    const a = await b.save_account(input({ password: 'pw' }));
    expect(a.password_storage).toBe('keyring');
    const edited = await b.save_account(input({ id: a.id, display_name: 'Alice B.' }));
    expect(edited).toMatchObject({ id: a.id, display_name: 'Alice B.', password_storage: 'keyring' });
    expect(await b.list_accounts()).toHaveLength(1);
    await b.remove_account(a.id);
    expect(await b.list_accounts()).toEqual([]);
  });

  it('keeps passwords for the session only without a keyring, and "" removes one', async () => {
    const b = new MockBackend({ keyring: { available: false, backend: 'session only', message: 'No keyring.' } });
    const a = await b.save_account(input({ password: 'pw' }));
    expect(a.password_storage).toBe('session');
    expect((await b.save_account(input({ id: a.id, password: '' }))).password_storage).toBe('none');
  });

  it('rejects invalid accounts with invalid_account and a hint naming the field', async () => {
    const b = new MockBackend();
    await expect(b.save_account(input({ display_name: ' ' }))).rejects.toMatchObject({
      code: 'invalid_account',
      hint: expect.stringContaining('display name'),
    });
    await expect(b.save_account(input({ sip_address: 'alice' }))).rejects.toMatchObject({
      hint: expect.stringContaining('SIP address'),
    });
    await expect(b.save_account(input({ registrar: 'pbx example' }))).rejects.toMatchObject({
      hint: expect.stringContaining('registrar'),
    });
  });

  it('fails a command once on request and records calls', async () => {
    const b = new MockBackend();
    b.fail('export_logs', { code: 'io', message: 'Disk full.', hint: 'Free some space.' });
    await expect(b.export_logs()).rejects.toMatchObject({ code: 'io' });
    await expect(b.export_logs()).resolves.toEqual(expect.any(String));
    expect(b.calls.map((c) => c.command)).toEqual(['export_logs', 'export_logs']);
  });

  it('hands out copies, not its own state', async () => {
    const b = new MockBackend();
    const info = await b.app_info();
    info.version = 'changed';
    expect((await b.app_info()).version).not.toBe('changed');
  });
});
