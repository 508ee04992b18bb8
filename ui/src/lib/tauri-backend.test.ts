import { beforeEach, describe, expect, it, vi } from 'vitest';

const invoke = vi.fn();
vi.mock('@tauri-apps/api/core', () => ({ invoke: (...args: unknown[]) => invoke(...args) }));
const listen = vi.fn();
vi.mock('@tauri-apps/api/event', () => ({ listen: (...args: unknown[]) => listen(...args) }));

const { TauriBackend, inTauri } = await import('./tauri-backend');
import type { AccountInput } from './backend';

describe('TauriBackend', () => {
  beforeEach(() => {
    invoke.mockReset();
  });

  it('calls each command by its name in docs/app-api.md', async () => {
    const b = new TauriBackend();
    invoke.mockResolvedValue('x');
    await b.app_info();
    await b.list_accounts();
    await b.audio_devices();
    await b.open_log_folder();
    await b.export_logs();
    await b.ui_ready();
    expect(invoke.mock.calls).toEqual([
      ['app_info', undefined],
      ['list_accounts', undefined],
      ['audio_devices', undefined],
      ['open_log_folder', undefined],
      ['export_logs', undefined],
      ['ui_ready', undefined],
    ]);
  });

  it('passes save_account its input as { input }', async () => {
    const input: AccountInput = {
      id: null,
      display_name: 'Alice',
      sip_address: 'sip:alice@example.com',
      auth_user: '',
      registrar: '',
      transport: 'tls',
      password: 'secret',
    };
    invoke.mockResolvedValue({ ...input, id: 'acc-1', password_storage: 'keyring' });
    const saved = await new TauriBackend().save_account(input);
    expect(invoke).toHaveBeenCalledWith('save_account', { input });
    expect(saved.id).toBe('acc-1');
  });

  it('passes remove_account its id as { id }', async () => {
    invoke.mockResolvedValue(null);
    await expect(new TauriBackend().remove_account('acc-7')).resolves.toBeNull();
    expect(invoke).toHaveBeenCalledWith('remove_account', { id: 'acc-7' });
  });

  it('returns what export_logs resolves to', async () => {
    invoke.mockResolvedValue('/home/a/Downloads/homeline-logs.txt');
    await expect(new TauriBackend().export_logs()).resolves.toBe('/home/a/Downloads/homeline-logs.txt');
  });

  it('rejects with the UiError the shell sent', async () => {
    const err = { code: 'invalid_account', message: 'Bad SIP address.', hint: 'Check the SIP address field.' };
    invoke.mockRejectedValue(err);
    await expect(new TauriBackend().list_accounts()).rejects.toEqual(err);
  });

  it('normalises any other rejection into a UiError', async () => {
    invoke.mockRejectedValue('Command app_info not allowed by ACL');
    await expect(new TauriBackend().app_info()).rejects.toMatchObject({
      code: 'unexpected',
      message: 'Command app_info not allowed by ACL',
      hint: expect.any(String),
    });
  });

  it('asks registration_states and listens to accounts://registration', async () => {
    invoke.mockResolvedValue([]);
    await expect(new TauriBackend().registration_states()).resolves.toEqual([]);
    expect(invoke).toHaveBeenCalledWith('registration_states', undefined);

    const unlisten = vi.fn();
    listen.mockResolvedValue(unlisten);
    const got: unknown[] = [];
    const stop = await new TauriBackend().onRegistration((s) => got.push(s));
    expect(listen).toHaveBeenCalledWith('accounts://registration', expect.any(Function));
    const payload = { account_id: 'acc-1', state: 'registered' };
    (listen.mock.calls[0][1] as (e: { payload: unknown }) => void)({ payload });
    expect(got).toEqual([payload]);
    stop();
    expect(unlisten).toHaveBeenCalled();
  });

  it('detects the shell by __TAURI_INTERNALS__', () => {
    expect(inTauri({})).toBe(false);
    expect(inTauri({ __TAURI_INTERNALS__: {} })).toBe(true);
  });
});
