import { invoke } from '@tauri-apps/api/core';
import { listen } from '@tauri-apps/api/event';
import {
  REGISTRATION_EVENT,
  toUiError,
  type Account,
  type AccountInput,
  type AppInfo,
  type AudioDevices,
  type Backend,
  type RegistrationStatus,
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

  async onRegistration(cb: (status: RegistrationStatus) => void): Promise<() => void> {
    try {
      return await listen<RegistrationStatus>(REGISTRATION_EVENT, (event) => cb(event.payload));
    } catch (err) {
      throw toUiError(err);
    }
  }

  audio_devices(): Promise<AudioDevices> {
    return this.call('audio_devices');
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
}

/** True inside the Homeline shell (Tauri injects its IPC bridge before our script runs). */
export function inTauri(win: object = globalThis): boolean {
  return '__TAURI_INTERNALS__' in win;
}
