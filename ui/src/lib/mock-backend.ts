import {
  DIAL_PREFIX,
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
  type RelayProbe,
  type RelayReport,
  type AudioTestSummary,
  type Backend,
  type CallOutcome,
  type CallStats,
  type CallView,
  type DiagCheck,
  type DiagCheckId,
  type DiagEvent,
  type DiagRunRecord,
  type DesktopSettings,
  type DialPreview,
  type ExportedReport,
  type HistoryEntry,
  type KeyringStatus,
  type LevelReading,
  type PasswordStorage,
  type RegistrationStatus,
  type UiError,
  type Contact,
  type ContactInput,
  type PresenceEvent,
  type PresenceStatus,
  type ChatMessage,
} from './backend';
import {
  DEFAULT_DIAG_TIMING,
  safeFixes,
  simulatedChecks,
  simulatedReport,
  simulatedTimeout,
  type DiagScenario,
  type DiagTiming,
} from './mock-diagnostics';
import { peerKey } from './contacts';

/** How fast the simulated calls move on, in milliseconds. */
export interface CallTiming {
  /** An outgoing call goes from dialing to ringing after this. */
  ringAfterMs: number;
  /** …and the far end answers after ringing this long. */
  answerAfterMs: number;
  /** connecting → active, after an answer (also the echo line's set-up time). */
  connectMs: number;
  /** ending → ended, after a hang-up. */
  endMs: number;
  /** How often the stats of active calls change. */
  statsEveryMs: number;
  /** How often `watch_levels` listeners get a reading. */
  levelsEveryMs: number;
  /** An incoming call nobody answers is missed after this. */
  missAfterMs: number;
}

export const DEFAULT_CALL_TIMING: CallTiming = {
  ringAfterMs: 700,
  answerAfterMs: 2500,
  connectMs: 300,
  endMs: 250,
  statsEveryMs: 1000,
  levelsEveryMs: 100,
  missAfterMs: 30_000,
};

export interface MockOptions {
  version?: string;
  /** The dialer text of a link the app was "started with" (`take_link` gives it once). */
  startLink?: string;
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
  /** The address book `list_contacts` starts with. */
  contacts?: Contact[];
  /**
   * Milliseconds until a watched contact's simulated status arrives (default 300); `null`
   * turns the simulation off (tests send events with `emitPresence`). The status follows the
   * contact: a user part containing "away", "busy", "phone" or "off" gets that status, others
   * are available with a note.
   */
  presenceDelayMs?: number | null;
  /**
   * Milliseconds until a sent message's final response (default 300): failed when the
   * target's user part contains "off", else delivered, and then a short reply from the
   * contact. `null` turns it off (tests send events with `emitChat`).
   */
  chatDelayMs?: number | null;
  /** Chat messages the history starts with. */
  chat?: ChatMessage[];
  /** The call history `call_history` starts with (newest first). */
  history?: HistoryEntry[];
  audioSettings?: AudioSettings;
  /** `[network]` the demo starts with (default: one STUN server, one relay with a password). */
  network?: NetworkSettings;
  /** The headset the demo shows (default: a connected Jabra with every switch on). */
  headset?: HeadsetStatus;
  /** Speeds of the call simulation (see {@link CallTiming}); tests make them short. */
  callTiming?: Partial<CallTiming>;
  /** Demo: a call from Bob comes in this long after start. */
  incomingAfterMs?: number;
  /** What the simulated connectivity test finds (default: a symmetric NAT, 30 s timeout). */
  diagScenario?: DiagScenario;
  /** Speeds of the simulated connectivity test; tests make them short. */
  diagTiming?: Partial<DiagTiming>;
  /** The connectivity test's history `diag_history` starts with (newest first). */
  diagHistory?: DiagRunRecord[];
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
    note: null,
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

function invalidNumber(message: string, hint: string): UiError {
  return { code: 'invalid_number', message, hint };
}

function uiError(code: string, message: string, hint: string): UiError {
  return { code, message, hint };
}

const STUN_URI = /^stuns?:(\[[0-9a-f:.]+\]|[^\s:@?/\[\]]+)(:\d{1,5})?$/i;
const TURN_URI = /^(turn:(\[[0-9a-f:.]+\]|[^\s:@?/\[\]]+)(:\d{1,5})?(\?transport=(udp|tcp))?|turns:(\[[0-9a-f:.]+\]|[^\s:@?/\[\]]+)(:\d{1,5})?(\?transport=tcp)?)$/i;

function invalidNetwork(message: string, hint: string): UiError {
  return { code: 'invalid_network_setting', message, hint };
}

/**
 * The simulated relay probe: each relay over its transport (and, for `turn:`, the UDP/TCP
 * twin); a host containing "fail" or "dead" does not answer, a missing password is refused.
 */
function simulatedRelayReport(network: NetworkSettings): RelayReport {
  const relays: RelayProbe[] = [];
  network.turn.forEach((r, i) => {
    const host = r.uri.replace(/^turns?:/i, '').replace(/[:?].*$/, '').toLowerCase();
    const tls = /^turns:/i.test(r.uri);
    const named = tls ? 'tls' : /transport=tcp/i.test(r.uri) ? 'tcp' : 'udp';
    const transports: ('udp' | 'tcp' | 'tls')[] = tls ? ['tls'] : named === 'udp' ? ['udp', 'tcp'] : ['tcp', 'udp'];
    for (const transport of transports) {
      const base = r.uri.replace(/\?.*$/, '');
      const uri = transport === 'tls' ? r.uri : transport === 'udp' ? base : `${base}?transport=tcp`;
      const dead = /fail|dead/.test(host);
      const noPassword = !r.password_stored;
      const works = !dead && !noPassword;
      const rtt = 18 + i * 25 + (transport === 'udp' ? 0 : transport === 'tcp' ? 6 : 11);
      relays.push({
        uri,
        host,
        transport,
        works,
        rtt_ms: works ? rtt : null,
        connect_ms: works ? (transport === 'udp' ? 0 : rtt + 3) : null,
        relayed: works ? `203.0.113.${10 + i}:49${152 + relays.length}` : null,
        mapped: works ? '198.51.100.7:53211' : null,
        error: dead
          ? uiError(
              'relay_unreachable',
              `${host} did not answer over ${transport.toUpperCase()} within 2 seconds.`,
              'Check the relay address, or ask whoever runs it whether it is up.',
            )
          : noPassword
            ? uiError(
                'relay_auth_failed',
                `${host} refused the user name and password.`,
                'Enter the relay password in Settings → Network and save.',
              )
            : null,
        used: false,
        rank: null,
      });
    }
  });
  const ranked = relays.filter((r) => r.works).sort((a, b) => (a.rtt_ms ?? 0) - (b.rtt_ms ?? 0));
  ranked.forEach((r, i) => {
    r.rank = i;
    r.used = i === 0;
  });
  const used = ranked[0] ?? null;
  return {
    relays,
    used: used?.uri ?? null,
    summary: used
      ? `Calls use ${used.host} over ${used.transport.toUpperCase()} (${used.rtt_ms} ms).`
      : relays.length === 0
        ? 'No relay is configured.'
        : 'No relay works: calls cannot fall back to a relay.',
  };
}

function notFound(id: string): UiError {
  return {
    code: 'call_not_found',
    message: `There is no call ${id} any more.`,
    hint: 'It has probably just ended.',
  };
}

/** The host of a SIP URI or address, lower case, without user, port and parameters. */
function hostOf(uri: string): string {
  return uri
    .replace(/^sips?:/i, '')
    .replace(/^[^@]*@/, '')
    .replace(/[:;?].*$/, '')
    .toLowerCase();
}

/** What the simulation does with a called number, by a word in it (see ui/README.md). */
function scenario(uri: string): 'busy' | 'nobody' | 'noanswer' | 'silent' | 'normal' {
  const u = uri.toLowerCase();
  if (u.includes('busy') || u.endsWith('486')) return 'busy';
  if (u.includes('nobody') || u.endsWith('404')) return 'nobody';
  if (u.includes('noanswer')) return 'noanswer';
  if (u.includes('silent')) return 'silent';
  return 'normal';
}

const between = (lo: number, hi: number) => lo + Math.random() * (hi - lo);
const round1 = (n: number) => Math.round(n * 10) / 10;

const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

/**
 * An in-memory Backend for unit tests and for `npm run dev` in a plain browser.
 * It validates like homeline-phone does (same error code, a hint naming the field), so the
 * UI's error paths run against it too. `fail(command, error)` makes the next call of that
 * command reject, and `calls` records every call for assertions.
 */
/** A phone number as the contacts module accepts it. */
const CONTACT_NUMBER = /^\+?(?=.*\d)[\d\s\-.()/*#]+$/;
/** A SIP address with or without its scheme. */
const CONTACT_SIP = /^(sips?:)?[^@\s]+@[^@\s]+$|^sips?:[^@\s]+$/i;

function sortContacts(contacts: Contact[]): Contact[] {
  return [...contacts].sort(
    (a, b) =>
      a.name.toLowerCase().localeCompare(b.name.toLowerCase()) ||
      a.address.toLowerCase().localeCompare(b.address.toLowerCase()),
  );
}

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

  private timing: CallTiming;
  private live = new Map<string, CallView>();
  private history: HistoryEntry[];
  private contacts: Contact[];
  private presenceListeners = new Set<(event: PresenceEvent) => void>();
  private presenceDelayMs: number | null;
  private chatDelayMs: number | null;
  private chat: ChatMessage[];
  private nextMsg = 1;
  private chatListeners = new Set<(message: ChatMessage) => void>();
  private nextContact = 1;
  private audioSettings: AudioSettings;
  private desktop: DesktopSettings = { quit_on_close: false };
  private autostart = false;
  private pendingLink: string | null;
  private linkListeners = new Set<(text: string) => void>();
  private headset: HeadsetStatus;
  private network: NetworkSettings;
  /** Relay passwords by `turn:USER@URI`, as the keyring would keep them. */
  private relayPasswords = new Map<string, string>();
  private nextCall = 1;
  private callListeners = new Set<(call: CallView) => void>();
  private levelListeners = new Set<(reading: LevelReading) => void>();
  /** Timers of each call (key null: not tied to a call), cleared when it ends. */
  private callTimers = new Map<string | null, Set<ReturnType<typeof setTimeout>>>();
  private statsTimer: ReturnType<typeof setInterval> | null = null;
  private levelTimer: ReturnType<typeof setInterval> | null = null;
  /** Every DTMF digit sent, per call id, for assertions. */
  readonly dtmf: Record<string, string> = {};

  private diagScenario: DiagScenario;
  private diagTiming: DiagTiming;
  private diagRuns: DiagRunRecord[];
  private diagUndo: AppliedFix[] | null = null;

  constructor(options: MockOptions = {}) {
    this.diagScenario = options.diagScenario ?? 'symmetric_nat';
    this.diagTiming = { ...DEFAULT_DIAG_TIMING, ...options.diagTiming };
    this.diagRuns = clone(options.diagHistory ?? []);
    this.info = {
      version: options.version ?? '0.0.0-demo',
      config_path: '(demo) nothing is written to disk',
      log_dir: '(demo) no log folder',
      keyring: options.keyring ?? { available: true, backend: 'demo, kept in memory only', message: null },
      config_problem: options.config_problem ?? null,
    };
    this.accounts = clone(options.accounts ?? []);
    this.history = clone(options.history ?? []);
    this.contacts = clone(options.contacts ?? []);
    this.presenceDelayMs = options.presenceDelayMs === undefined ? 300 : options.presenceDelayMs;
    this.chatDelayMs = options.chatDelayMs === undefined ? 300 : options.chatDelayMs;
    this.chat = clone(options.chat ?? []);
    this.audioSettings = clone(options.audioSettings ?? { microphone: null, speaker: null, ring: null });
    this.headset = clone(
      options.headset ?? {
        state: 'connected',
        device: 'GN Netcom A/S Jabra EVOLVE LINK MS',
        audio_device: 'Jabra EVOLVE LINK MS',
        problem: null,
        settings: {
          enabled: true,
          call_buttons: true,
          mute_sync: true,
          leds: true,
          ring_on_headset: true,
          device: null,
        },
      },
    );
    this.network = clone(
      options.network ?? {
        stun_servers: ['stun:stun.example.com:3478'],
        ice: true,
        force_relay: false,
        turn: [
          {
            uri: 'turns:turn.example.com:443?transport=tcp',
            username: 'homeline',
            password_stored: true,
            password_storage: 'keyring',
          },
        ],
      },
    );
    for (const r of this.network.turn) {
      if (r.password_stored) this.relayPasswords.set(`turn:${r.username}@${r.uri}`, 'demo');
    }
    this.timing = { ...DEFAULT_CALL_TIMING, ...options.callTiming };
    this.pendingLink = options.startLink ?? null;
    if (options.incomingAfterMs !== undefined) {
      this.later(null, options.incomingAfterMs, () =>
        this.simulateIncoming('sip:bob@example.com', { name: 'Bob Example' }),
      );
    }
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
      const dial_prefix = input.dial_prefix.trim();
      if (display_name === '') throw invalid('display name', 'The display name is empty.');
      if (!SIP_URI.test(sip_address)) {
        throw invalid('SIP address', `"${sip_address}" is not a SIP address like sip:alice@example.com.`);
      }
      if (registrar !== '' && !REGISTRAR_URI.test(registrar)) {
        throw invalid('registrar', `"${registrar}" is not a registrar address like sip:pbx.example.com.`);
      }
      if (!DIAL_PREFIX.test(dial_prefix)) {
        throw invalid('dial prefix', `"${dial_prefix}" is not a dial prefix: use digits, * and # only.`);
      }
      const clash = this.accounts.find((a) => a.id !== input.id && dial_prefix !== '' && a.dial_prefix === dial_prefix);
      if (clash) {
        throw invalid('dial prefix', `${clash.display_name} already uses the dial prefix ${dial_prefix}.`);
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
        dial_prefix,
        is_default: input.is_default,
      };
      if (existing) this.accounts = this.accounts.map((a) => (a.id === account.id ? account : a));
      else this.accounts = [...this.accounts, account];
      // One default account at most.
      if (account.is_default) {
        this.accounts = this.accounts.map((a) => (a.id === account.id ? a : { ...a, is_default: false }));
      }
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

  audio_settings(): Promise<AudioSettings> {
    return this.run('audio_settings', undefined, () => this.audioSettings);
  }

  save_audio_settings(settings: AudioSettings): Promise<AudioSettings> {
    return this.run('save_audio_settings', { settings }, () => {
      this.audioSettings = {
        microphone: settings.microphone,
        speaker: settings.speaker,
        ring: settings.ring,
      };
      return this.audioSettings;
    });
  }

  headset_status(): Promise<HeadsetStatus> {
    return this.run('headset_status', undefined, () => this.headset);
  }

  save_headset_settings(settings: HeadsetSettings): Promise<HeadsetSettings> {
    return this.run('save_headset_settings', { settings }, () => {
      this.headset.settings = clone(settings);
      this.headset.state = settings.enabled ? (this.headset.device ? 'connected' : 'searching') : 'off';
      return this.headset.settings;
    });
  }

  network_settings(): Promise<NetworkSettings> {
    return this.run('network_settings', undefined, () => this.network);
  }

  save_network_settings(input: NetworkSettingsInput): Promise<NetworkSettings> {
    return this.run('save_network_settings', { input }, () => {
      const stun: string[] = [];
      for (const line of input.stun_servers.map((l) => l.trim()).filter((l) => l !== '')) {
        if (!STUN_URI.test(line)) {
          throw invalidNetwork(
            `This STUN server address is not valid: '${line}' is not a STUN address like stun:host or stun:host:port.`,
            'Write each STUN server as stun:host or stun:host:port (for example stun:stun.example.net:3478), one per line, and save again.',
          );
        }
        if (!stun.includes(line)) stun.push(line);
      }
      const turn = [];
      for (const r of input.turn) {
        const uri = r.uri.trim();
        const username = r.username.trim();
        if (uri === '' && username === '' && !r.password) continue;
        if (!TURN_URI.test(uri)) {
          throw invalidNetwork(
            `This relay address is not valid: '${uri}' is not a TURN address like turn:host or turns:host:443?transport=tcp.`,
            'Write the relay as turn:host[:port][?transport=udp|tcp] or turns:host[:port][?transport=tcp] and save again.',
          );
        }
        const key = `turn:${username}@${uri}`;
        if (r.password === '') this.relayPasswords.delete(key);
        else if (r.password !== null) this.relayPasswords.set(key, r.password);
        const stored = this.relayPasswords.has(key);
        const password_storage: PasswordStorage = !stored
          ? 'none'
          : r.password === null
            ? (this.network.turn.find((o) => o.uri === uri && o.username === username)?.password_storage ?? 'keyring')
            : this.info.keyring.available
              ? 'keyring'
              : 'session';
        turn.push({ uri, username, password_stored: stored, password_storage });
      }
      this.network = { stun_servers: stun, ice: input.ice, force_relay: input.force_relay, turn };
      return this.network;
    });
  }

  test_relays(): Promise<RelayReport> {
    return this.run('test_relays', undefined, () => simulatedRelayReport(this.network));
  }

  /** A short simulated test: the tone at -13.5 dB, the microphone hearing it a little lower. */
  async audio_test(cb: (reading: LevelReading) => void): Promise<AudioTestSummary> {
    const summary = await this.run('audio_test', undefined, () => ({
      input_peak_dbfs: -20,
      output_dbfs: -13.5,
    }));
    for (let i = 0; i < 5; i++) {
      cb({ input_dbfs: -20 - i, output_dbfs: -13.5 });
      await new Promise((r) => setTimeout(r, 10));
    }
    return summary;
  }

  // ---- calls ------------------------------------------------------------------------------

  /** The dial rules of docs/app-api.md over the mock's accounts. */
  private preview(target: string): DialPreview {
    const t = target.trim();
    if (t === '') {
      throw invalidNumber('There is nothing to call yet.', 'Type a number or a SIP address like sip:bob@example.com.');
    }
    if (/^echo$/i.test(t)) return { account_id: null, account_name: 'Echo test', uri: 'echo', rule: null };
    const uri = /^sips?:/i.test(t) ? t : /^[^@\s]+@[^@\s]+$/.test(t) ? `sip:${t}` : null;
    if (uri !== null) {
      if (!SIP_URI.test(uri)) {
        throw invalidNumber(`"${t}" is not a SIP address.`, 'A SIP address looks like sip:bob@example.com.');
      }
      const host = hostOf(uri);
      const own = this.accounts.find(
        (a) => hostOf(a.sip_address) === host || (a.registrar !== '' && hostOf(a.registrar) === host),
      );
      if (own) return { account_id: own.id, account_name: own.display_name, uri, rule: null };
      return { account_id: null, account_name: 'Direct call', uri, rule: null };
    }
    // Separators go from phone numbers only; a user name (an extension like "alice") has none.
    const digits = t.replace(/[\s\-().\/]/g, '');
    const number = /^\+?[0-9*#]+$/.test(digits) ? digits : t;
    if (!/^\+?[0-9*#]+$/.test(number) && !/^[a-z0-9._+*#-]+$/i.test(number)) {
      throw invalidNumber(
        `"${t}" is not a number or a SIP address.`,
        'Use digits, * and #, or a SIP address like sip:bob@example.com.',
      );
    }
    const byPrefix = this.accounts
      .filter((a) => a.dial_prefix !== '' && number.startsWith(a.dial_prefix) && number.length > a.dial_prefix.length)
      .sort((a, b) => b.dial_prefix.length - a.dial_prefix.length)[0];
    if (byPrefix) {
      return {
        account_id: byPrefix.id,
        account_name: byPrefix.display_name,
        uri: number.slice(byPrefix.dial_prefix.length),
        rule: `prefix ${byPrefix.dial_prefix} → ${byPrefix.display_name}`,
      };
    }
    const fallback = this.accounts.find((a) => a.is_default) ?? this.accounts.find((a) => a.registrar !== '');
    if (!fallback) {
      throw invalidNumber(
        `No account can call ${number}.`,
        this.accounts.length === 0
          ? 'Add an account with a registrar in Settings, or try the echo test.'
          : 'Mark an account with a registrar as the default account, or give one a dial prefix.',
      );
    }
    return { account_id: fallback.id, account_name: fallback.display_name, uri: number, rule: null };
  }

  dial_preview(target: string): Promise<DialPreview> {
    return this.run('dial_preview', { target }, () => this.preview(target));
  }

  dial(target: string, account_id: string | null): Promise<CallView> {
    return this.run('dial', { target, account_id }, () => {
      let p = this.preview(target);
      if (account_id !== null) {
        const a = this.accounts.find((x) => x.id === account_id);
        if (!a) {
          throw uiError('account_not_found', 'That account no longer exists.', 'Choose another account.');
        }
        p = { ...p, account_id: a.id, account_name: a.display_name };
      }
      if (p.account_name === 'Echo test' && p.account_id === null) return this.startEcho();
      return this.startOutgoing(p);
    });
  }

  echo_test(): Promise<CallView> {
    return this.run('echo_test', undefined, () => this.startEcho());
  }

  answer_call(id: string): Promise<null> {
    return this.run('answer_call', { id }, () => {
      const call = this.get(id);
      if (call.state !== 'incoming') {
        throw uiError('invalid_call_state', 'That call is not ringing.', 'It was probably answered or ended already.');
      }
      this.clearTimers(id);
      this.update(id, { state: 'connecting', answered_at: Date.now(), waiting: false });
      this.later(id, this.timing.connectMs, () => this.activate(id));
      return null;
    });
  }

  reject_call(id: string): Promise<null> {
    return this.run('reject_call', { id }, () => {
      const call = this.get(id);
      if (call.state !== 'incoming') {
        throw uiError('invalid_call_state', 'That call is not ringing.', 'Hang it up instead.');
      }
      this.end(id, 'rejected', null);
      return null;
    });
  }

  hangup_call(id: string): Promise<null> {
    return this.run('hangup_call', { id }, () => {
      const call = this.get(id);
      this.clearTimers(id);
      if (call.state === 'incoming') this.end(id, 'rejected', null);
      else if (call.answered_at === null) this.end(id, 'cancelled', null);
      else if (call.state !== 'ending') {
        this.update(id, { state: 'ending' });
        this.later(id, this.timing.endMs, () => this.end(id, 'answered', null));
      }
      return null;
    });
  }

  hold_call(id: string, on: boolean): Promise<null> {
    return this.run('hold_call', { id, on }, () => {
      const call = this.get(id);
      if (call.state !== 'active' && call.state !== 'connecting') {
        throw uiError('invalid_call_state', 'Only a connected call can be held.', 'Wait until it is answered.');
      }
      if (call.on_hold !== on) this.update(id, { on_hold: on });
      return null;
    });
  }

  mute_call(id: string, on: boolean): Promise<null> {
    return this.run('mute_call', { id, on }, () => {
      const call = this.get(id);
      if (call.muted !== on) this.update(id, { muted: on });
      return null;
    });
  }

  send_dtmf(id: string, digits: string): Promise<null> {
    return this.run('send_dtmf', { id, digits }, () => {
      const call = this.get(id);
      if (!/^[0-9*#A-D]+$/i.test(digits)) {
        throw uiError('invalid_dtmf', `"${digits}" cannot be sent as tones.`, 'Use digits, *, # and A–D.');
      }
      if (call.state !== 'active') {
        throw uiError('invalid_call_state', 'Tones go only to a connected call.', 'Wait until it is answered.');
      }
      this.dtmf[id] = (this.dtmf[id] ?? '') + digits.toUpperCase();
      return null;
    });
  }

  list_calls(): Promise<CallView[]> {
    return this.run('list_calls', undefined, () => [...this.live.values()]);
  }

  call_history(): Promise<HistoryEntry[]> {
    return this.run('call_history', undefined, () => this.history.slice(0, 500));
  }

  list_contacts(): Promise<Contact[]> {
    return this.run('list_contacts', undefined, () => sortContacts(this.contacts));
  }

  /** Checks the input as homeline-phone's contacts module does (the same codes and fields). */
  save_contact(input: ContactInput): Promise<Contact> {
    return this.run('save_contact', { input }, () => {
      const name = input.name.trim();
      const address = input.address.trim();
      const note = input.note.trim();
      const bad = (field: string, message: string): UiError => ({
        code: 'invalid_contact',
        message,
        hint: `Correct the \u201c${field}\u201d field and save again.`,
      });
      if (name === '') throw bad('Name', 'The name is empty.');
      if (address === '') throw bad('SIP address or number', 'The SIP address or number is empty.');
      if (!CONTACT_NUMBER.test(address) && !CONTACT_SIP.test(address)) {
        throw bad(
          'SIP address or number',
          'This is neither a SIP address (like sip:bob@example.com) nor a phone number.',
        );
      }
      if (input.id !== null && !this.contacts.some((c) => c.id === input.id)) {
        throw {
          code: 'contact_not_found',
          message: `There is no contact with the id ${input.id}.`,
          hint: 'The contact may have been removed meanwhile; reload the list.',
        } satisfies UiError;
      }
      const saved: Contact = {
        id: input.id ?? `contact-${this.nextContact++}`,
        name,
        address,
        note,
      };
      const i = this.contacts.findIndex((c) => c.id === saved.id);
      if (i === -1) this.contacts.push(saved);
      else this.contacts[i] = saved;
      return saved;
    });
  }

  remove_contact(id: string): Promise<null> {
    return this.run('remove_contact', { id }, () => {
      if (!this.contacts.some((c) => c.id === id)) {
        throw {
          code: 'contact_not_found',
          message: `There is no contact with the id ${id}.`,
          hint: 'The contact may have been removed meanwhile; reload the list.',
        } satisfies UiError;
      }
      this.contacts = this.contacts.filter((c) => c.id !== id);
      return null;
    });
  }

  /** Sends a presence event to every listener, as the shell's `presence://update` does. */
  emitPresence(event: PresenceEvent): void {
    for (const cb of [...this.presenceListeners]) cb(clone(event));
  }

  get presenceListenerCount(): number {
    return this.presenceListeners.size;
  }

  private requireRegistered(account_id: string): void {
    if (this.registrations.get(account_id)?.state !== 'registered') {
      throw {
        code: 'not_registered',
        message: 'The account is not connected, so presence cannot be sent or watched.',
        hint: 'Wait until the account is registered, or check its settings.',
      } satisfies UiError;
    }
  }

  set_presence(account_id: string, status: PresenceStatus, note: string | null): Promise<null> {
    return this.run('set_presence', { account_id, status, note }, () => {
      this.requireRegistered(account_id);
      if (this.presenceDelayMs !== null) {
        this.later(null, this.presenceDelayMs, () =>
          this.emitPresence({ account_id, kind: 'published', status }),
        );
      }
      return null;
    });
  }

  watch_presence(account_id: string, target: string): Promise<string> {
    return this.run('watch_presence', { account_id, target }, () => {
      this.requireRegistered(account_id);
      const domain = this.accounts.find((a) => a.id === account_id)?.sip_address.split('@')[1] ?? 'example.com';
      const t = target.trim();
      const uri = /^sips?:/i.test(t) ? t : t.includes('@') ? `sip:${t}` : `sip:${t.replace(/[\s\-.()/]/g, '')}@${domain}`;
      if (this.presenceDelayMs !== null) {
        const user = uri.replace(/^sips?:/i, '').split('@')[0].toLowerCase();
        const [status, note]: [PresenceStatus, string | null] = user.includes('away')
          ? ['away', 'Back at two']
          : user.includes('busy')
            ? ['busy', 'Do not disturb']
            : user.includes('phone')
              ? ['on-the-phone', 'On the phone']
              : user.includes('off')
                ? ['offline', null]
                : ['available', 'At my desk (demo)'];
        this.later(null, this.presenceDelayMs, () =>
          this.emitPresence({ account_id, kind: 'contact', uri, status, note }),
        );
      }
      return uri;
    });
  }

  /** Records a message (as the shell does) and sends it to every listener. */
  emitChat(message: ChatMessage): void {
    const i = this.chat.findIndex(
      (m) => m.msg_id !== null && m.msg_id === message.msg_id && m.account_id === message.account_id,
    );
    if (i === -1) this.chat.push(clone(message));
    else this.chat[i] = clone(message);
    for (const cb of [...this.chatListeners]) cb(clone(message));
  }

  chat_thread(peer: string): Promise<ChatMessage[]> {
    return this.run('chat_thread', { peer }, () => this.chat.filter((m) => peerKey(m.peer) === peerKey(peer)));
  }

  send_chat(account_id: string, target: string, text: string): Promise<ChatMessage> {
    return this.run('send_chat', { account_id, target, text }, () => {
      if (text.trim() === '') {
        throw { code: 'empty_message', message: 'The message is empty.', hint: 'Type something to send.' } satisfies UiError;
      }
      if (this.registrations.get(account_id)?.state !== 'registered') {
        throw {
          code: 'not_registered',
          message: 'The account is not connected, so the message cannot go out.',
          hint: 'Wait until the account is registered, or check its settings.',
        } satisfies UiError;
      }
      const sent: ChatMessage = {
        account_id,
        peer: target,
        direction: 'outgoing',
        text,
        time: new Date().toISOString(),
        msg_id: this.nextMsg++,
        state: 'sending',
        reason: null,
      };
      this.chat.push(clone(sent));
      if (this.chatDelayMs !== null) {
        const offline = /off/i.test(peerKey(target).split('@')[0]);
        this.later(null, this.chatDelayMs, () =>
          this.emitChat(
            offline
              ? { ...sent, state: 'failed', reason: 'The contact is offline and the server keeps no messages (demo).' }
              : { ...sent, state: 'delivered' },
          ),
        );
        if (!offline) {
          this.later(null, this.chatDelayMs * 4, () =>
            this.emitChat({
              account_id,
              peer: target,
              direction: 'incoming',
              text: `Got it: “${text}” 👍`,
              time: new Date().toISOString(),
              msg_id: null,
              state: 'received',
              reason: null,
            }),
          );
        }
      }
      return sent;
    });
  }

  async onChat(cb: (message: ChatMessage) => void): Promise<() => void> {
    await this.run('onChat', undefined, () => null);
    this.chatListeners.add(cb);
    return () => {
      this.chatListeners.delete(cb);
    };
  }

  async onPresence(cb: (event: PresenceEvent) => void): Promise<() => void> {
    await this.run('onPresence', undefined, () => null);
    this.presenceListeners.add(cb);
    return () => {
      this.presenceListeners.delete(cb);
    };
  }

  clear_history(): Promise<null> {
    return this.run('clear_history', undefined, () => {
      this.history = [];
      return null;
    });
  }

  async watch_levels(cb: (reading: LevelReading) => void): Promise<() => void> {
    await this.run('watch_levels', undefined, () => null);
    this.levelListeners.add(cb);
    this.syncIntervals();
    return () => {
      this.levelListeners.delete(cb);
      this.syncIntervals();
    };
  }

  desktop_settings(): Promise<DesktopSettings> {
    return this.run('desktop_settings', undefined, () => this.desktop);
  }

  save_desktop_settings(settings: DesktopSettings): Promise<DesktopSettings> {
    return this.run('save_desktop_settings', { settings }, () => {
      this.desktop = { quit_on_close: settings.quit_on_close };
      return this.desktop;
    });
  }

  autostart_enabled(): Promise<boolean> {
    return this.run('autostart_enabled', undefined, () => this.autostart);
  }

  set_autostart(on: boolean): Promise<boolean> {
    return this.run('set_autostart', { on }, () => {
      this.autostart = on;
      return this.autostart;
    });
  }

  /** The language the UI last told the shell (`set_language`). */
  shellLanguage: string | null = null;

  set_language(locale: string): Promise<boolean> {
    return this.run('set_language', { locale }, () => {
      this.shellLanguage = locale;
      return true;
    });
  }

  take_link(): Promise<string | null> {
    return this.run('take_link', undefined, () => {
      const link = this.pendingLink;
      this.pendingLink = null;
      return link;
    });
  }

  async onLink(cb: (text: string) => void): Promise<() => void> {
    await this.run('onLink', undefined, () => null);
    this.linkListeners.add(cb);
    return () => {
      this.linkListeners.delete(cb);
    };
  }

  /** A link is opened while the app runs, as the shell's `app://link` event announces it. */
  simulateLink(text: string): void {
    for (const cb of [...this.linkListeners]) cb(text);
  }

  async onCallUpdate(cb: (call: CallView) => void): Promise<() => void> {
    await this.run('onCallUpdate', undefined, () => null);
    this.callListeners.add(cb);
    return () => {
      this.callListeners.delete(cb);
    };
  }

  /** How many `onCallUpdate` listeners are attached. */
  get callUpdateListeners(): number {
    return this.callListeners.size;
  }

  /** How many `watch_levels` listeners are attached. */
  get levelWatchers(): number {
    return this.levelListeners.size;
  }

  /**
   * A call comes in, as the shell would announce it. It is a waiting call when another is
   * connected, and missed when nobody answers within `missAfterMs`.
   */
  simulateIncoming(from: string, options: { name?: string | null; account_id?: string | null } = {}): CallView {
    const busy = [...this.live.values()].some((c) => c.state === 'active' || c.state === 'connecting');
    const call = this.newCall({
      direction: 'incoming',
      remote: from,
      remote_name: options.name ?? null,
      account_id: options.account_id === undefined ? (this.accounts[0]?.id ?? null) : options.account_id,
      state: 'incoming',
      waiting: busy,
    });
    this.later(call.id, this.timing.missAfterMs, () => this.end(call.id, 'missed', null));
    return clone(call);
  }

  /** The other side hangs up (or gives up calling, for a ringing incoming call). */
  simulateRemoteHangup(id: string): void {
    const call = this.live.get(id);
    if (!call) return;
    this.clearTimers(id);
    if (call.state === 'incoming') this.end(id, 'missed', null);
    else if (call.answered_at === null) {
      this.end(id, 'failed', {
        code: 'declined',
        message: 'The other side declined the call.',
        hint: 'Try again later.',
      });
    } else this.end(id, 'answered', null);
  }

  /** The other side puts us on hold, or takes us off it. */
  simulateRemoteHold(id: string, on: boolean): void {
    if (this.live.has(id)) this.update(id, { remote_hold: on });
  }

  /** Sets or clears a call's media problem (dead air …). */
  simulateMediaProblem(id: string, problem: UiError | null): void {
    if (this.live.has(id)) this.update(id, { media_problem: problem });
  }

  /** Sends any CallView to the listeners, as the shell's event does (tests drive states). */
  emitCall(view: CallView): void {
    if (view.state === 'ended') this.live.delete(view.id);
    else this.live.set(view.id, clone(view));
    for (const cb of [...this.callListeners]) cb(clone(view));
  }

  /** Sends a level reading to every `watch_levels` listener. */
  emitLevels(reading: LevelReading): void {
    for (const cb of [...this.levelListeners]) cb({ ...reading });
  }

  /** Stops every timer of the simulation (calls stay as they are). */
  dispose(): void {
    for (const set of this.callTimers.values()) for (const t of set) clearTimeout(t);
    this.callTimers.clear();
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    if (this.statsTimer !== null) clearInterval(this.statsTimer);
    if (this.levelTimer !== null) clearInterval(this.levelTimer);
    this.statsTimer = null;
    this.levelTimer = null;
  }

  private get(id: string): CallView {
    const call = this.live.get(id);
    if (!call) throw notFound(id);
    return call;
  }

  private later(id: string | null, ms: number, fn: () => void): void {
    const set = this.callTimers.get(id) ?? new Set();
    this.callTimers.set(id, set);
    const t = setTimeout(() => {
      set.delete(t);
      fn();
    }, ms);
    set.add(t);
  }

  private clearTimers(id: string): void {
    for (const t of this.callTimers.get(id) ?? []) clearTimeout(t);
    this.callTimers.delete(id);
  }

  private newCall(over: Partial<CallView> & Pick<CallView, 'direction' | 'remote' | 'state'>): CallView {
    // Skip ids a test gave calls of its own through emitCall.
    while (this.live.has(`call-${this.nextCall}`)) this.nextCall++;
    const call: CallView = {
      id: `call-${this.nextCall++}`,
      account_id: null,
      remote_name: null,
      waiting: false,
      muted: false,
      on_hold: false,
      remote_hold: false,
      started_at: Date.now(),
      answered_at: null,
      ended_at: null,
      outcome: null,
      end_reason: null,
      media_problem: null,
      stats: null,
      ...over,
    };
    this.live.set(call.id, call);
    this.emit(call);
    return call;
  }

  private emit(call: CallView): void {
    for (const cb of [...this.callListeners]) cb(clone(call));
  }

  private update(id: string, patch: Partial<CallView>): void {
    const call = this.live.get(id);
    if (!call) return;
    const next = { ...call, ...patch };
    this.live.set(id, next);
    this.emit(next);
    this.syncWaiting();
    this.syncIntervals();
  }

  /** A ringing incoming call is a waiting call exactly while another call is connected. */
  private syncWaiting(): void {
    const calls = [...this.live.values()];
    for (const c of calls) {
      if (c.state !== 'incoming') continue;
      const waiting = calls.some((o) => o.id !== c.id && (o.state === 'active' || o.state === 'connecting'));
      if (waiting !== c.waiting) {
        const next = { ...c, waiting };
        this.live.set(c.id, next);
        this.emit(next);
      }
    }
  }

  private end(id: string, outcome: CallOutcome, reason: UiError | null): void {
    const call = this.live.get(id);
    if (!call) return;
    this.clearTimers(id);
    const ended: CallView = {
      ...call,
      state: 'ended',
      waiting: false,
      ended_at: Date.now(),
      outcome,
      end_reason: reason,
    };
    this.live.delete(id);
    // The history has the call before anyone hears it ended, so a reload finds it.
    this.history = [
      {
        id: ended.id,
        account_id: ended.account_id,
        direction: ended.direction,
        remote: ended.remote,
        remote_name: ended.remote_name,
        started_at: ended.started_at,
        answered_at: ended.answered_at,
        ended_at: ended.ended_at ?? Date.now(),
        outcome,
        reason: reason?.message ?? null,
      },
      ...this.history,
    ].slice(0, 500);
    this.emit(ended);
    this.syncWaiting();
    this.syncIntervals();
  }

  private startEcho(): CallView {
    const call = this.newCall({
      direction: 'outgoing',
      remote: 'echo',
      remote_name: 'Echo test',
      state: 'connecting',
      answered_at: Date.now(),
    });
    this.later(call.id, this.timing.connectMs, () => this.activate(call.id));
    return call;
  }

  private startOutgoing(p: DialPreview): CallView {
    const call = this.newCall({ direction: 'outgoing', remote: p.uri, account_id: p.account_id, state: 'dialing' });
    const what = scenario(p.uri);
    this.later(call.id, this.timing.ringAfterMs, () => {
      if (what === 'nobody') {
        this.end(call.id, 'failed', {
          code: 'not_found',
          message: `Nobody can be reached at ${p.uri}.`,
          hint: 'Check the number or address and try again.',
        });
        return;
      }
      this.update(call.id, { state: 'ringing' });
      if (what === 'noanswer') return;
      this.later(call.id, this.timing.answerAfterMs, () => {
        if (what === 'busy') {
          this.end(call.id, 'busy', {
            code: 'busy',
            message: 'Busy',
            hint: 'The other side is on another call. Try again later.',
          });
          return;
        }
        this.update(call.id, { state: 'connecting', answered_at: Date.now() });
        this.later(call.id, this.timing.connectMs, () => {
          this.activate(call.id);
          if (what === 'silent') {
            this.later(call.id, this.timing.statsEveryMs * 2, () =>
              this.simulateMediaProblem(call.id, {
                code: 'no_audio_received',
                message: 'No sound is arriving from the other side.',
                hint:
                  'A firewall or router may block the audio. Try another network, or TCP or TLS in the ' +
                  'account settings.',
              }),
            );
          }
        });
      });
    });
    return call;
  }

  private activate(id: string): void {
    const call = this.live.get(id);
    if (!call) return;
    this.update(id, { state: 'active', stats: this.nextStats(call) });
  }

  /** Plausible numbers that move a little every tick. */
  private nextStats(call: CallView): CallStats {
    const prev = call.stats;
    const secs = this.timing.statsEveryMs / 1000;
    const silent = scenario(call.remote) === 'silent';
    const echo = call.account_id === null && call.remote === 'echo';
    const tls = this.accounts.find((a) => a.id === call.account_id)?.transport === 'tls';
    const sent = (prev?.packets_sent ?? 0) + (call.on_hold ? 0 : Math.round(50 * secs));
    const heard = call.on_hold || call.remote_hold ? 0 : Math.round(50 * secs);
    const received = silent ? 0 : (prev?.packets_received ?? 0) + heard;
    return {
      codec: 'opus/48000',
      packets_sent: sent,
      packets_received: received,
      loss_pct: silent ? 0 : round1(echo ? 0 : between(0, 1.5)),
      jitter_ms: silent ? 0 : round1(echo ? between(0.2, 1) : between(2, 9)),
      rtt_ms: silent ? null : Math.round(echo ? between(1, 3) : between(20, 70)),
      playout_delay_ms: silent ? 0 : Math.round(echo ? 20 : between(40, 60)),
      mos: silent ? null : round1(echo ? 4.4 : between(4.0, 4.4)),
      srtp: tls,
    };
  }

  /** Stats tick while a call is active; levels while someone watches and a call has audio. */
  private syncIntervals(): void {
    const active = [...this.live.values()].filter((c) => c.state === 'active');
    if (active.length > 0 && this.statsTimer === null) {
      this.statsTimer = setInterval(() => {
        for (const c of this.live.values()) if (c.state === 'active') this.update(c.id, { stats: this.nextStats(c) });
      }, this.timing.statsEveryMs);
    } else if (active.length === 0 && this.statsTimer !== null) {
      clearInterval(this.statsTimer);
      this.statsTimer = null;
    }
    const audible = active.some((c) => !c.on_hold);
    if (audible && this.levelListeners.size > 0 && this.levelTimer === null) {
      this.levelTimer = setInterval(() => this.tickLevels(), this.timing.levelsEveryMs);
    } else if ((!audible || this.levelListeners.size === 0) && this.levelTimer !== null) {
      clearInterval(this.levelTimer);
      this.levelTimer = null;
    }
  }

  private tickLevels(): void {
    const call = [...this.live.values()].find((c) => c.state === 'active' && !c.on_hold);
    if (!call) return;
    const speaking = Math.random() < 0.7;
    const input = call.muted ? -100 : speaking ? between(-32, -12) : between(-60, -45);
    const silent = scenario(call.remote) === 'silent' || call.remote_hold;
    const echo = call.account_id === null && call.remote === 'echo';
    const output = silent ? -100 : echo ? (call.muted ? -100 : Math.max(-100, input - 4)) : between(-40, -15);
    this.emitLevels({ input_dbfs: Math.round(input), output_dbfs: Math.round(output) });
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

  // --- the connectivity test (see mock-diagnostics.ts) ---

  async run_diagnostics(
    account_id: string | null,
    background: boolean,
    cb: (event: DiagEvent) => void,
  ): Promise<DiagRunRecord> {
    // Records the call (and throws a failure set with `fail`) before anything runs.
    await this.run('run_diagnostics', { account_id, background }, () => null);
    const started = Date.now();
    const wait = (ms: number) => new Promise<void>((resolve) => this.later(null, ms, resolve));
    const send = (e: DiagEvent) => cb(clone(e));
    const quick = simulatedChecks(this.diagScenario);
    send({ kind: 'running', checks: [...quick.map((c) => c.id), 'nat_timeout'] });
    const done: DiagCheck[] = [];
    for (const c of quick) {
      await wait(this.diagTiming.stepMs);
      done.push(c);
      send({ kind: 'check', check: c });
    }
    const pending: DiagCheck = {
      id: 'nat_timeout',
      status: 'skipped',
      finding: background
        ? 'Measuring how long your router keeps an idle line open (up to 4 minutes).'
        : 'How long your router keeps an idle line open was not measured this time.',
      fix: null,
      details: {},
    };
    send({ kind: 'verdict', report: simulatedReport([...done, pending], Date.now() - started) });
    let last = pending;
    if (background) {
      await wait(this.diagTiming.backgroundMs);
      last = simulatedTimeout(this.diagScenario);
      send({ kind: 'check', check: last });
    }
    const report = simulatedReport([...done, last], Date.now() - started);
    send({ kind: 'finished', report });
    const result: DiagRunRecord = {
      finished_at: new Date().toISOString(),
      account_id: account_id ?? this.accounts.find((a) => a.registrar !== '')?.id ?? null,
      report,
    };
    this.diagRuns = [clone(result), ...this.diagRuns].slice(0, 10);
    return clone(result);
  }

  apply_diag_fixes(record: DiagRunRecord, check: DiagCheckId | null): Promise<AppliedFix[]> {
    return this.run('apply_diag_fixes', { record, check }, () => {
      const applied = safeFixes(record.report).filter((f) => check === null || f.check === check);
      if (applied.length > 0) this.diagUndo = applied;
      return applied;
    });
  }

  undo_diag_fixes(): Promise<AppliedFix[]> {
    return this.run('undo_diag_fixes', undefined, () => {
      const undone = this.diagUndo;
      if (undone === null) {
        throw {
          code: 'nothing_to_undo',
          message: 'There is no fix to undo.',
          hint: 'Fixes applied by the connectivity test can be undone until the next fix.',
        } satisfies UiError;
      }
      this.diagUndo = null;
      return undone;
    });
  }

  export_diag_report(record: DiagRunRecord): Promise<ExportedReport> {
    return this.run('export_diag_report', { record }, () => ({
      text_path: '(demo) homeline-diagnostics.txt — nothing was written',
      json_path: '(demo) homeline-diagnostics.json — nothing was written',
    }));
  }

  diag_history(): Promise<DiagRunRecord[]> {
    return this.run('diag_history', undefined, () => this.diagRuns);
  }
}
