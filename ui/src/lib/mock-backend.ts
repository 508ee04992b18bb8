import type {
  Account,
  AccountInput,
  AppInfo,
  AudioDevices,
  Backend,
  KeyringStatus,
  PasswordStorage,
  RegistrationStatus,
  UiError,
} from './backend';

export interface MockOptions {
  version?: string;
  keyring?: KeyringStatus;
  config_problem?: UiError | null;
  accounts?: Account[];
  audio?: AudioDevices;
  /** The registration states `registration_states` starts with. */
  registrations?: RegistrationStatus[];
  /**
   * Milliseconds a simulated registration takes (default 400). Saving an account with a
   * registrar sends `registering`, then `registered` after this delay — or `failed` with a
   * reason when the registrar's host contains "fail" or is 127.0.0.1 (nothing listens).
   * `null` turns the simulation off; tests then drive states with `emitRegistration`.
   */
  registrationDelayMs?: number | null;
}

function status(account_id: string, over: Partial<RegistrationStatus> = {}): RegistrationStatus {
  return {
    account_id,
    state: 'idle',
    reason: null,
    server: null,
    expires_secs: null,
    retry_in_secs: null,
    register_requests: 0,
    ...over,
  };
}

/** What the simulated registration of `account` ends in. */
function simulatedOutcome(account: Account, requests: number): RegistrationStatus {
  const host = account.registrar.replace(/^sips?:/i, '').replace(/[:;].*$/, '');
  const transport = account.transport === 'auto' ? 'UDP' : account.transport.toUpperCase();
  const server = `${host} over ${transport} (demo)`;
  if (/fail/i.test(host) || host === '127.0.0.1') {
    return status(account.id, {
      state: 'failed',
      server,
      retry_in_secs: 60,
      register_requests: requests,
      reason: {
        code: 'transport_error',
        message: `Could not reach ${server}: nothing listens on that port (demo).`,
        hint: 'Check the registrar address and port, or try another transport.',
      },
    });
  }
  return status(account.id, { state: 'registered', server, expires_secs: 600, register_requests: requests });
}

const DEMO_AUDIO: AudioDevices = {
  host: 'Demo',
  inputs: [
    { name: 'Demo microphone', is_default: true, channels: 1, sample_rates: [48000] },
    { name: 'Demo headset microphone', is_default: false, channels: 1, sample_rates: [16000, 48000] },
  ],
  outputs: [
    { name: 'Demo speakers', is_default: true, channels: 2, sample_rates: [44100, 48000] },
    { name: 'Demo headset', is_default: false, channels: 2, sample_rates: [48000] },
  ],
  error: null,
};

const SIP_URI = /^sips?:[^@\s:;]+@[^@\s;]+$/i;
const REGISTRAR_URI = /^sips?:[^@\s;]+$/i;

function invalid(field: string, message: string): UiError {
  return { code: 'invalid_account', message, hint: `Check the ${field} field.` };
}

const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

/**
 * An in-memory Backend for unit tests and for `npm run dev` in a plain browser.
 * It validates like homeline-phone does (same error code, a hint naming the field), so the
 * UI's error paths run against it too. `fail(command, error)` makes the next call of that
 * command reject, and `calls` records every call for assertions.
 */
export class MockBackend implements Backend {
  private info: AppInfo;
  private accounts: Account[];
  private audio: AudioDevices;
  private failures = new Map<string, UiError>();
  private nextId = 1;
  private registrations = new Map<string, RegistrationStatus>();
  private listeners = new Set<(status: RegistrationStatus) => void>();
  private registrationDelayMs: number | null;
  private timers = new Map<string, ReturnType<typeof setTimeout>>();
  readonly calls: { command: string; args?: unknown }[] = [];

  constructor(options: MockOptions = {}) {
    this.info = {
      version: options.version ?? '0.0.0-demo',
      config_path: '(demo) nothing is written to disk',
      log_dir: '(demo) no log folder',
      keyring: options.keyring ?? { available: true, backend: 'demo, kept in memory only', message: null },
      config_problem: options.config_problem ?? null,
    };
    this.accounts = clone(options.accounts ?? []);
    this.audio = clone(options.audio ?? DEMO_AUDIO);
    for (const r of options.registrations ?? []) this.registrations.set(r.account_id, clone(r));
    this.registrationDelayMs = options.registrationDelayMs === undefined ? 400 : options.registrationDelayMs;
    // Like the shell at start-up: accounts with a registrar and no given state start registering.
    for (const a of this.accounts) {
      if (a.registrar !== '' && !this.registrations.has(a.id)) this.simulateRegistration(a);
    }
  }

  /** Sends a registration status change to every listener, as the shell's event does. */
  emitRegistration(next: RegistrationStatus): void {
    this.registrations.set(next.account_id, clone(next));
    for (const cb of [...this.listeners]) cb(clone(next));
  }

  /** How many `onRegistration` listeners are attached. */
  get registrationListeners(): number {
    return this.listeners.size;
  }

  private simulateRegistration(account: Account): void {
    const old = this.timers.get(account.id);
    if (old !== undefined) clearTimeout(old);
    this.timers.delete(account.id);
    if (this.registrationDelayMs === null) return;
    if (account.registrar === '') {
      this.registrations.delete(account.id);
      return;
    }
    const requests = (this.registrations.get(account.id)?.register_requests ?? 0) + 1;
    this.emitRegistration(status(account.id, { state: 'registering', register_requests: requests }));
    this.timers.set(
      account.id,
      setTimeout(() => {
        this.timers.delete(account.id);
        this.emitRegistration(simulatedOutcome(account, requests));
      }, this.registrationDelayMs),
    );
  }

  /** The next call of `command` rejects with `error`. */
  fail(command: keyof Backend, error: UiError): void {
    this.failures.set(command, error);
  }

  private async run<T>(command: string, args: unknown, body: () => T): Promise<T> {
    this.calls.push(args === undefined ? { command } : { command, args: clone(args) });
    await Promise.resolve();
    const failure = this.failures.get(command);
    if (failure) {
      this.failures.delete(command);
      throw clone(failure);
    }
    return clone(body());
  }

  app_info(): Promise<AppInfo> {
    return this.run('app_info', undefined, () => this.info);
  }

  list_accounts(): Promise<Account[]> {
    return this.run('list_accounts', undefined, () => this.accounts);
  }

  save_account(input: AccountInput): Promise<Account> {
    return this.run('save_account', { input }, () => {
      const display_name = input.display_name.trim();
      const sip_address = input.sip_address.trim();
      const registrar = input.registrar.trim();
      if (display_name === '') throw invalid('display name', 'The display name is empty.');
      if (!SIP_URI.test(sip_address)) {
        throw invalid('SIP address', `"${sip_address}" is not a SIP address like sip:alice@example.com.`);
      }
      if (registrar !== '' && !REGISTRAR_URI.test(registrar)) {
        throw invalid('registrar', `"${registrar}" is not a registrar address like sip:pbx.example.com.`);
      }
      const existing = input.id === null ? undefined : this.accounts.find((a) => a.id === input.id);
      if (input.id !== null && !existing) {
        throw {
          code: 'account_not_found',
          message: 'That account no longer exists.',
          hint: 'Reload the list of accounts.',
        } satisfies UiError;
      }
      let password_storage: PasswordStorage;
      if (input.password === null) password_storage = existing?.password_storage ?? 'none';
      else if (input.password === '') password_storage = 'none';
      else password_storage = this.info.keyring.available ? 'keyring' : 'session';
      const account: Account = {
        id: existing?.id ?? `acc-demo${this.nextId++}`,
        display_name,
        sip_address,
        auth_user: input.auth_user.trim(),
        registrar,
        transport: input.transport,
        password_storage,
      };
      if (existing) this.accounts = this.accounts.map((a) => (a.id === account.id ? account : a));
      else this.accounts = [...this.accounts, account];
      queueMicrotask(() => this.simulateRegistration(account));
      return account;
    });
  }

  remove_account(id: string): Promise<null> {
    return this.run('remove_account', { id }, () => {
      this.accounts = this.accounts.filter((a) => a.id !== id);
      const timer = this.timers.get(id);
      if (timer !== undefined) clearTimeout(timer);
      this.timers.delete(id);
      this.registrations.delete(id);
      return null;
    });
  }

  registration_states(): Promise<RegistrationStatus[]> {
    return this.run('registration_states', undefined, () =>
      [...this.registrations.values()].sort((a, b) => a.account_id.localeCompare(b.account_id)),
    );
  }

  async onRegistration(cb: (status: RegistrationStatus) => void): Promise<() => void> {
    await this.run('onRegistration', undefined, () => null);
    this.listeners.add(cb);
    return () => {
      this.listeners.delete(cb);
    };
  }

  audio_devices(): Promise<AudioDevices> {
    return this.run('audio_devices', undefined, () => this.audio);
  }

  open_log_folder(): Promise<null> {
    return this.run('open_log_folder', undefined, () => null);
  }

  ui_ready(): Promise<null> {
    return this.run('ui_ready', undefined, () => null);
  }

  export_logs(): Promise<string> {
    return this.run('export_logs', undefined, () => '(demo) homeline-logs.txt — nothing was written');
  }
}
