import { Channel, invoke } from '@tauri-apps/api/core';
import { listen } from '@tauri-apps/api/event';
import {
  CALLS_EVENT,
  DIAG_EVENT,
  LINK_EVENT,
  REGISTRATION_EVENT,
  toUiError,
  type Account,
  type AccountInput,
  type AppliedFix,
  type AppInfo,
  type AudioDevices,
  type AudioSettings,
  type HeadsetSettings,
  type HeadsetStatus,
  type NetworkSettings,
  type NetworkSettingsInput,
  type RelayReport,
  type AudioTestSummary,
  type Backend,
  type CallView,
  type DiagCheckId,
  type DiagEvent,
  type DiagRunRecord,
  type DesktopSettings,
  type DialPreview,
  type ExportedReport,
  type HistoryEntry,
  type LevelReading,
  type RegistrationStatus,
  type Contact,
  type ContactInput,
  type PresenceEvent,
  type PresenceStatus,
  PRESENCE_EVENT,
  type ChatMessage,
  CHAT_EVENT,
} from './backend';

/**
 * The real backend: each method is one `invoke` of the shell command of the same name,
 * with the argument names of docs/app-api.md. Rejections are normalised to UiError.
 */
export class TauriBackend implements Backend {
  private async call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
    try {
      return await invoke<T>(command, args);
    } catch (err) {
      throw toUiError(err);
    }
  }

  private async listenTo<T>(event: string, cb: (payload: T) => void): Promise<() => void> {
    try {
      return await listen<T>(event, (e) => cb(e.payload));
    } catch (err) {
      throw toUiError(err);
    }
  }

  app_info(): Promise<AppInfo> {
    return this.call('app_info');
  }

  list_accounts(): Promise<Account[]> {
    return this.call('list_accounts');
  }

  save_account(input: AccountInput): Promise<Account> {
    return this.call('save_account', { input });
  }

  remove_account(id: string): Promise<null> {
    return this.call('remove_account', { id });
  }

  registration_states(): Promise<RegistrationStatus[]> {
    return this.call('registration_states');
  }

  onRegistration(cb: (status: RegistrationStatus) => void): Promise<() => void> {
    return this.listenTo(REGISTRATION_EVENT, cb);
  }

  audio_devices(): Promise<AudioDevices> {
    return this.call('audio_devices');
  }

  audio_settings(): Promise<AudioSettings> {
    return this.call('audio_settings');
  }

  save_audio_settings(settings: AudioSettings): Promise<AudioSettings> {
    return this.call('save_audio_settings', { settings });
  }

  headset_status(): Promise<HeadsetStatus> {
    return this.call('headset_status');
  }

  save_headset_settings(settings: HeadsetSettings): Promise<HeadsetSettings> {
    return this.call('save_headset_settings', { settings });
  }

  network_settings(): Promise<NetworkSettings> {
    return this.call('network_settings');
  }

  save_network_settings(input: NetworkSettingsInput): Promise<NetworkSettings> {
    return this.call('save_network_settings', { input });
  }

  test_relays(): Promise<RelayReport> {
    return this.call('test_relays');
  }

  dial_preview(target: string): Promise<DialPreview> {
    return this.call('dial_preview', { target });
  }

  dial(target: string, account_id: string | null): Promise<CallView> {
    return this.call('dial', { target, account_id });
  }

  echo_test(): Promise<CallView> {
    return this.call('echo_test');
  }

  answer_call(id: string): Promise<null> {
    return this.call('answer_call', { id });
  }

  reject_call(id: string): Promise<null> {
    return this.call('reject_call', { id });
  }

  hangup_call(id: string): Promise<null> {
    return this.call('hangup_call', { id });
  }

  hold_call(id: string, on: boolean): Promise<null> {
    return this.call('hold_call', { id, on });
  }

  mute_call(id: string, on: boolean): Promise<null> {
    return this.call('mute_call', { id, on });
  }

  send_dtmf(id: string, digits: string): Promise<null> {
    return this.call('send_dtmf', { id, digits });
  }

  list_calls(): Promise<CallView[]> {
    return this.call('list_calls');
  }

  call_history(): Promise<HistoryEntry[]> {
    return this.call('call_history');
  }

  clear_history(): Promise<null> {
    return this.call('clear_history');
  }

  list_contacts(): Promise<Contact[]> {
    return this.call('list_contacts');
  }

  save_contact(input: ContactInput): Promise<Contact> {
    return this.call('save_contact', { input });
  }

  remove_contact(id: string): Promise<null> {
    return this.call('remove_contact', { id });
  }

  set_presence(account_id: string, status: PresenceStatus, note: string | null): Promise<null> {
    return this.call('set_presence', { account_id, status, note });
  }

  watch_presence(account_id: string, target: string): Promise<string> {
    return this.call('watch_presence', { account_id, target });
  }

  onPresence(cb: (event: PresenceEvent) => void): Promise<() => void> {
    return this.listenTo(PRESENCE_EVENT, cb);
  }

  chat_thread(peer: string): Promise<ChatMessage[]> {
    return this.call('chat_thread', { peer });
  }

  send_chat(account_id: string, target: string, text: string): Promise<ChatMessage> {
    return this.call('send_chat', { account_id, target, text });
  }

  onChat(cb: (message: ChatMessage) => void): Promise<() => void> {
    return this.listenTo(CHAT_EVENT, cb);
  }

  audio_test(cb: (reading: LevelReading) => void): Promise<AudioTestSummary> {
    const channel = new Channel<LevelReading>((reading) => cb(reading));
    return this.call('audio_test', { channel });
  }

  async watch_levels(cb: (reading: LevelReading) => void): Promise<() => void> {
    let deliver = cb;
    const channel = new Channel<LevelReading>((reading) => deliver(reading));
    await this.call('watch_levels', { channel });
    // The contract has no command to end the stream; stop handing readings to `cb`. The
    // channel's callback stays registered so the shell's sends never hit a missing one.
    return () => {
      deliver = () => {};
    };
  }

  onCallUpdate(cb: (call: CallView) => void): Promise<() => void> {
    return this.listenTo(CALLS_EVENT, cb);
  }

  desktop_settings(): Promise<DesktopSettings> {
    return this.call('desktop_settings');
  }

  save_desktop_settings(settings: DesktopSettings): Promise<DesktopSettings> {
    return this.call('save_desktop_settings', { settings });
  }

  autostart_enabled(): Promise<boolean> {
    return this.call('autostart_enabled');
  }

  set_autostart(on: boolean): Promise<boolean> {
    return this.call('set_autostart', { on });
  }

  take_link(): Promise<string | null> {
    return this.call('take_link');
  }

  set_language(locale: string): Promise<boolean> {
    return this.call('set_language', { locale });
  }

  onLink(cb: (text: string) => void): Promise<() => void> {
    return this.listenTo(LINK_EVENT, cb);
  }

  open_log_folder(): Promise<null> {
    return this.call('open_log_folder');
  }

  export_logs(): Promise<string> {
    return this.call('export_logs');
  }

  ui_ready(): Promise<null> {
    return this.call('ui_ready');
  }

  /** Listens first, so no event of this run is missed; stops listening when it ends. */
  async run_diagnostics(
    account_id: string | null,
    background: boolean,
    cb: (event: DiagEvent) => void,
  ): Promise<DiagRunRecord> {
    const unlisten = await this.listenTo<DiagEvent>(DIAG_EVENT, cb);
    try {
      return await this.call<DiagRunRecord>('run_diagnostics', { account_id, background });
    } finally {
      unlisten();
    }
  }

  apply_diag_fixes(record: DiagRunRecord, check: DiagCheckId | null): Promise<AppliedFix[]> {
    return this.call('apply_diag_fixes', { record, check });
  }

  undo_diag_fixes(): Promise<AppliedFix[]> {
    return this.call('undo_diag_fixes');
  }

  export_diag_report(record: DiagRunRecord): Promise<ExportedReport> {
    return this.call('export_diag_report', { record });
  }

  diag_history(): Promise<DiagRunRecord[]> {
    return this.call('diag_history');
  }
}

/** True inside the Homeline shell (Tauri injects its IPC bridge before our script runs). */
export function inTauri(win: object = globalThis): boolean {
  return '__TAURI_INTERNALS__' in win;
}
