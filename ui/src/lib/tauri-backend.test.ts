import { beforeEach, describe, expect, it, vi } from 'vitest';

const invoke = vi.fn();
/** Stands in for Tauri's Channel, which needs the shell's IPC bridge to exist. */
class FakeChannel<T> {
  constructor(public onmessage: (message: T) => void) {}
}
vi.mock('@tauri-apps/api/core', () => ({ invoke: (...args: unknown[]) => invoke(...args), Channel: FakeChannel }));
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
      dial_prefix: '9',
      is_default: true,
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

  it('calls the call commands with the argument names of the contract', async () => {
    const b = new TauriBackend();
    invoke.mockResolvedValue(null);
    await b.dial_preview('90301234');
    await b.set_language('ru');
    await b.dial('90301234', null);
    await b.dial('sip:bob@example.com', 'acc-2');
    await b.echo_test();
    await b.answer_call('call-1');
    await b.reject_call('call-2');
    await b.hangup_call('call-3');
    await b.hold_call('call-4', true);
    await b.mute_call('call-5', false);
    await b.send_dtmf('call-6', '12#');
    await b.list_calls();
    await b.call_history();
    await b.clear_history();
    await b.audio_settings();
    const settings = { microphone: 'USB mic', speaker: null, ring: 'Speakers' };
    await b.save_audio_settings(settings);
    expect(invoke.mock.calls).toEqual([
      ['dial_preview', { target: '90301234' }],
      ['set_language', { locale: 'ru' }],
      ['dial', { target: '90301234', account_id: null }],
      ['dial', { target: 'sip:bob@example.com', account_id: 'acc-2' }],
      ['echo_test', undefined],
      ['answer_call', { id: 'call-1' }],
      ['reject_call', { id: 'call-2' }],
      ['hangup_call', { id: 'call-3' }],
      ['hold_call', { id: 'call-4', on: true }],
      ['mute_call', { id: 'call-5', on: false }],
      ['send_dtmf', { id: 'call-6', digits: '12#' }],
      ['list_calls', undefined],
      ['call_history', undefined],
      ['clear_history', undefined],
      ['audio_settings', undefined],
      ['save_audio_settings', { settings }],
    ]);
  });

  it('calls the Settings → Network commands with { input } in snake_case', async () => {
    const b = new TauriBackend();
    invoke.mockResolvedValue(null);
    const input = {
      stun_servers: ['stun:stun.example.com'],
      ice: true,
      force_relay: true,
      turn: [{ uri: 'turn:192.0.2.9', username: 'u', password: 'p' }],
    };
    await b.network_settings();
    await b.save_network_settings(input);
    await b.test_relays();
    expect(invoke.mock.calls).toEqual([
      ['network_settings', undefined],
      ['save_network_settings', { input }],
      ['test_relays', undefined],
    ]);
  });

  it('rejects a failed dial with the UiError the shell sent', async () => {
    const err = { code: 'invalid_number', message: 'Nothing to call.', hint: 'Type a number.' };
    invoke.mockRejectedValue(err);
    await expect(new TauriBackend().dial('', null)).rejects.toEqual(err);
    await expect(new TauriBackend().dial_preview('x')).rejects.toEqual(err);
  });

  it('passes watch_levels a Channel as { channel } and delivers its readings until stopped', async () => {
    invoke.mockResolvedValue(null);
    const got: unknown[] = [];
    const stop = await new TauriBackend().watch_levels((r) => got.push(r));
    expect(invoke).toHaveBeenCalledTimes(1);
    const [command, args] = invoke.mock.calls[0] as [string, { channel: FakeChannel<unknown> }];
    expect(command).toBe('watch_levels');
    expect(Object.keys(args)).toEqual(['channel']);
    expect(args.channel).toBeInstanceOf(FakeChannel);
    args.channel.onmessage({ input_dbfs: -20, output_dbfs: -30 });
    expect(got).toEqual([{ input_dbfs: -20, output_dbfs: -30 }]);
    stop();
    args.channel.onmessage({ input_dbfs: -10, output_dbfs: -10 });
    expect(got).toHaveLength(1);
  });

  it('listens to calls://update', async () => {
    const unlisten = vi.fn();
    listen.mockReset();
    listen.mockResolvedValue(unlisten);
    const got: unknown[] = [];
    const stop = await new TauriBackend().onCallUpdate((c) => got.push(c));
    expect(listen).toHaveBeenCalledWith('calls://update', expect.any(Function));
    const payload = { id: 'call-1', state: 'incoming', direction: 'incoming' };
    (listen.mock.calls[0][1] as (e: { payload: unknown }) => void)({ payload });
    expect(got).toEqual([payload]);
    stop();
    expect(unlisten).toHaveBeenCalled();
  });

  it('turns a failed listen into a UiError', async () => {
    listen.mockReset();
    listen.mockRejectedValue('event.listen not allowed');
    await expect(new TauriBackend().onCallUpdate(() => {})).rejects.toMatchObject({
      code: 'unexpected',
      message: 'event.listen not allowed',
    });
  });

  it('detects the shell by __TAURI_INTERNALS__', () => {
    expect(inTauri({})).toBe(false);
    expect(inTauri({ __TAURI_INTERNALS__: {} })).toBe(true);
  });
});
