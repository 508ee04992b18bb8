// The app API as the UI sees it. This file mirrors docs/app-api.md and the Rust types in
// crates/phone/src/api.rs field for field (snake_case, as serde sends them); keep the three
// in step. Method names are the Tauri command names verbatim, so a grep for `save_account`
// finds the doc, the shell command and every caller at once.

export type Transport = 'auto' | 'udp' | 'tcp' | 'tls' | 'ws' | 'wss';
export type PasswordStorage = 'keyring' | 'session' | 'config' | 'none';

/** Every failed command rejects with one of these. */
export interface UiError {
  /** Stable snake_case identifier, e.g. `invalid_account`. */
  code: string;
  /** What happened, in plain words. */
  message: string;
  /** What the user can do about it. */
  hint: string;
}

/** What the UI shows of an account; it never carries the password. */
export interface Account {
  id: string;
  display_name: string;
  sip_address: string;
  /** "" = the user part of `sip_address`. */
  auth_user: string;
  /** "" = none (direct calls only). */
  registrar: string;
  transport: Transport;
  password_storage: PasswordStorage;
}

/** Add (`id` = null) or edit (`id` set) an account. */
export interface AccountInput {
  id: string | null;
  display_name: string;
  sip_address: string;
  auth_user: string;
  registrar: string;
  transport: Transport;
  /** null = keep the stored password unchanged; "" = remove it (as homeline-phone reads it). */
  password: string | null;
}

export interface KeyringStatus {
  available: boolean;
  backend: string;
  message: string | null;
}

export interface AppInfo {
  version: string;
  config_path: string;
  log_dir: string;
  keyring: KeyringStatus;
  /** Set when the config file was broken and set aside. */
  config_problem: UiError | null;
}

export interface AudioDevice {
  name: string;
  is_default: boolean;
  channels: number;
  sample_rates: number[];
}

export interface AudioDevices {
  host: string;
  inputs: AudioDevice[];
  outputs: AudioDevice[];
  error: UiError | null;
}

/** Where one account's registration stands (crates/phone/src/sip/status.rs). */
export type RegistrationState =
  | 'idle'
  | 'registering'
  | 'registered'
  | 'failed'
  | 'stopped'
  | 'unregistering'
  | 'unregistered';

/** One account's registration, as the `registration_states` command and the
 * `accounts://registration` event carry it. */
export interface RegistrationStatus {
  account_id: string;
  state: RegistrationState;
  /** Why it failed (for `failed` and `stopped`), in plain words with a next step. */
  reason: UiError | null;
  /** e.g. `pbx.example.com (192.0.2.7) over UDP port 5060`. */
  server: string | null;
  /** Seconds the server granted (when registered). */
  expires_secs: number | null;
  /** Seconds until the next attempt (when failed). */
  retry_in_secs: number | null;
  /** REGISTER requests sent so far, for diagnostics. */
  register_requests: number;
}

/** The name of the event that carries every account's registration status changes. */
export const REGISTRATION_EVENT = 'accounts://registration';

/** The commands of docs/app-api.md. Every method rejects with a {@link UiError}. */
export interface Backend {
  app_info(): Promise<AppInfo>;
  list_accounts(): Promise<Account[]>;
  save_account(input: AccountInput): Promise<Account>;
  remove_account(id: string): Promise<null>;
  /** Every started account's registration status (accounts without a registrar have none). */
  registration_states(): Promise<RegistrationStatus[]>;
  /**
   * Calls `cb` with each registration status change from now on (the `accounts://registration`
   * event). Resolves to the function that stops listening.
   */
  onRegistration(cb: (status: RegistrationStatus) => void): Promise<() => void>;
  audio_devices(): Promise<AudioDevices>;
  open_log_folder(): Promise<null>;
  /** Resolves to the path of the written file. */
  export_logs(): Promise<string>;
  /**
   * Not in the table of docs/app-api.md: the shell's start-up probe. The UI calls it once,
   * when its first real content is on screen; the shell logs the time since launch.
   */
  ui_ready(): Promise<null>;
}

export const TRANSPORTS: readonly Transport[] = ['auto', 'udp', 'tcp', 'tls', 'ws', 'wss'];

export function isUiError(value: unknown): value is UiError {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.code === 'string' && typeof v.message === 'string' && typeof v.hint === 'string';
}

/**
 * Turns whatever a failed call threw into a UiError, so the UI has one shape to show.
 * The shell rejects with a UiError already; anything else (a string from Tauri's own IPC
 * layer, an Error from a bug) is wrapped rather than shown raw or swallowed.
 */
export function toUiError(value: unknown): UiError {
  if (isUiError(value)) return { code: value.code, message: value.message, hint: value.hint };
  const hint =
    'This is likely a bug in Homeline. Try again; if it keeps happening, export the logs ' +
    '(Settings → Logs) and report it.';
  if (typeof value === 'string' && value.trim() !== '') {
    return { code: 'unexpected', message: value, hint };
  }
  if (value instanceof Error && value.message !== '') {
    return { code: 'unexpected', message: value.message, hint };
  }
  if (typeof value === 'object' && value !== null) {
    const v = value as Record<string, unknown>;
    if (typeof v.message === 'string' && v.message !== '') {
      return {
        code: typeof v.code === 'string' && v.code !== '' ? v.code : 'unexpected',
        message: v.message,
        hint: typeof v.hint === 'string' && v.hint !== '' ? v.hint : hint,
      };
    }
  }
  return { code: 'unexpected', message: 'Something went wrong and Homeline gave no reason.', hint };
}
