// The app API as the UI sees it. This file mirrors docs/app-api.md and the Rust types in
// crates/phone/src/api.rs field for field (snake_case, as serde sends them); keep the three
// in step. Method names are the Tauri command names verbatim, so a grep for `save_account`
// finds the doc, the shell command and every caller at once.

import { t } from './i18n.svelte';
export type Transport = 'auto' | 'udp' | 'tcp' | 'tls' | 'ws' | 'wss';
export type PasswordStorage = 'keyring' | 'session' | 'config' | 'none';

/** What the audio test measured (dBFS). */
export interface AudioTestSummary {
  input_peak_dbfs: number;
  output_dbfs: number;
}

/** Every failed command rejects with one of these. */
export interface UiError {
  /** Stable snake_case identifier, e.g. `invalid_account`. */
  code: string;
  /** What happened, in plain words. */
  message: string;
  /** What the user can do about it. */
  hint: string;
  /** The values the sentences name (server, user, port…), for the catalogs' `error-<code>`. */
  args?: Record<string, string>;
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
  /** "" = none. A number typed with this prefix is called from this account, prefix stripped. */
  dial_prefix: string;
  /** Numbers without a matching prefix are called from this account. */
  is_default: boolean;
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
  /** "" = none; digits, * and # only. */
  dial_prefix: string;
  is_default: boolean;
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
  /** How it got through when that is worth knowing, e.g. "UDP got no answer; registered over TCP." */
  note: string | null;
}

/** The name of the event that carries every account's registration status changes. */
export const REGISTRATION_EVENT = 'accounts://registration';

export type CallDirection = 'outgoing' | 'incoming';

export type CallState =
  /** outgoing: INVITE sent */
  | 'dialing'
  /** outgoing: the far end rings (180/183) */
  | 'ringing'
  /** incoming: ringing here, waiting for answer/reject */
  | 'incoming'
  /** answered, media starting (ACK pending) */
  | 'connecting'
  /** talking (also while held: see on_hold / remote_hold) */
  | 'active'
  /** hang-up sent, waiting for the last answers */
  | 'ending'
  | 'ended';

export type CallOutcome = 'answered' | 'missed' | 'rejected' | 'cancelled' | 'failed' | 'busy';

/** Live numbers of a call, refreshed about once a second while it is active. */
export interface CallStats {
  /** "opus/48000", "PCMU/8000" … */
  codec: string | null;
  packets_sent: number;
  packets_received: number;
  /** 0..100, of what the peer sent us. */
  loss_pct: number;
  jitter_ms: number;
  /** From RTCP, when the peer sends reports. */
  rtt_ms: number | null;
  /** The jitter buffer's current delay. */
  playout_delay_ms: number;
  /** E-model estimate 1..4.5 (null before any audio). */
  mos: number | null;
  /** Media encrypted (SDES-SRTP). */
  srtp: boolean;
}

/** One call as the `calls://update` event and the call commands carry it. Times are Unix ms. */
export interface CallView {
  /** "call-7"; stable for the life of the call. */
  id: string;
  /** null: direct call or the echo line. */
  account_id: string | null;
  direction: CallDirection;
  /** "sip:bob@example.com" (the URI). */
  remote: string;
  /** Display name, when the peer sent one. */
  remote_name: string | null;
  state: CallState;
  /** Incoming while another call is active (call waiting). */
  waiting: boolean;
  /** Our microphone is muted. */
  muted: boolean;
  /** We put it on hold. */
  on_hold: boolean;
  /** The peer put us on hold. */
  remote_hold: boolean;
  started_at: number;
  answered_at: number | null;
  ended_at: number | null;
  /** Set when ended. */
  outcome: CallOutcome | null;
  /** Who ended it: local_hangup, remote_hangup, cancelled, caller_cancelled, rejected, failed. */
  end_cause?: string | null;
  /** Why it failed or was refused, in plain words. */
  end_reason: UiError | null;
  /** Dead air etc.: shown as a banner, with the advice. */
  media_problem: UiError | null;
  stats: CallStats | null;
  /** How the audio travels: "direct", "relay-udp", "relay-tcp", "relay-tls" ("host", "srflx",
   *  "prflx" once calls do ICE); null until the media is set up. */
  media_route?: string | null;
  /** The same in words: "Direct", "Through relay 203.0.113.5 (TLS 443) because …". */
  media_route_text?: string | null;
  /** Why a relay: "forced", "symmetric_nat" or "udp_blocked"; null off the relay. */
  media_route_reason?: string | null;
  /** The relay's URI when the audio goes through one. */
  relay?: string | null;
  /** ICE ran for this call. */
  ice?: boolean;
  /** Dial (or the INVITE's arrival) → answer, ms. */
  setup_ms?: number | null;
  /** Dial (or the INVITE's arrival) → first audio from the peer, ms. */
  media_ms?: number | null;
}

/** One finished call of `call_history`. */
export interface HistoryEntry {
  /** The call's id. */
  id: string;
  account_id: string | null;
  direction: CallDirection;
  remote: string;
  remote_name: string | null;
  started_at: number;
  answered_at: number | null;
  ended_at: number;
  outcome: CallOutcome;
  /** The end_reason's message, if any. */
  reason: string | null;
}

/** One contact of the address book (`list_contacts`). */
export interface Contact {
  /** Stable id, 16 hex digits. */
  id: string;
  name: string;
  /** A SIP address (sip:bob@example.com or bob@example.com) or a phone number. */
  address: string;
  /** The user's own note about the contact. */
  note: string;
}

/** What `save_contact` takes: `id` null adds a contact, otherwise edits that one. */
export interface ContactInput {
  id: string | null;
  name: string;
  address: string;
  note: string;
}

/** A contact's or our own presence status (the words of `homeline presence`). */
export type PresenceStatus = 'available' | 'away' | 'busy' | 'on-the-phone' | 'offline' | 'unknown';

/** One account's presence event (`presence://update`). */
export type PresenceEvent = { account_id: string } & (
  | { kind: 'contact'; uri: string; status: PresenceStatus; note: string | null }
  | { kind: 'published'; status: PresenceStatus }
  | { kind: 'unavailable'; uri: string | null; reason: UiError }
  | ({ kind: 'voicemail' } & Voicemail)
);

/** The account's voicemail summary (RFC 3842 message waiting), as the server last sent it. */
export interface Voicemail {
  waiting: boolean;
  new: number;
  old: number;
  urgent_new: number;
  /** The voicemail account the server names (`Message-Account`), if any. */
  message_account: string | null;
  /** The account's `voicemail_number`: what "call voicemail" dials. */
  voicemail_number: string | null;
}

/** The name of the event that carries every presence event of every account. */
export const PRESENCE_EVENT = 'presence://update';

/** One chat message as its thread holds it (`chat_thread`, `chat://message`). */
export interface ChatMessage {
  account_id: string;
  /** The peer's address as given or as it arrived. */
  peer: string;
  direction: 'incoming' | 'outgoing';
  /** UTF-8, exactly as sent. */
  text: string;
  /** RFC 3339 UTC. */
  time: string;
  /** Outgoing: the id the account gave it. */
  msg_id: number | null;
  state: 'received' | 'sending' | 'delivered' | 'failed';
  /** Why it failed, in plain words. */
  reason: string | null;
}

/** The name of the event that carries each new or updated chat message. */
export const CHAT_EVENT = 'chat://message';

/** What dialling `target` would do (dial rules applied). */
export interface DialPreview {
  /** null: a direct call (sip:user@host) or the echo line. */
  account_id: string | null;
  /** "Office" / "Direct call" / "Echo test". */
  account_name: string;
  /** What will be called, after the rule's prefix is stripped. */
  uri: string;
  /** "prefix 9 → Office", when a rule matched. */
  rule: string | null;
}

/** Microphone and speaker level of the call with audio, -100..0 dBFS. */
export interface LevelReading {
  input_dbfs: number;
  output_dbfs: number;
}

/** Audio devices per role, by device name; null = follow the system default. */
export interface AudioSettings {
  microphone: string | null;
  speaker: string | null;
  ring: string | null;
}

/** `[headset]`: headset integration, a master switch and one switch per function. */
export interface HeadsetSettings {
  enabled: boolean;
  call_buttons: boolean;
  mute_sync: boolean;
  leds: boolean;
  ring_on_headset: boolean;
  /** The headset by name; null = the first one found. */
  device: string | null;
}

/** What Settings → Headset shows. */
export interface HeadsetStatus {
  /** `off`, `searching`, `connected`, `problem` or `stopped`. */
  state: string;
  device: string | null;
  audio_device: string | null;
  problem: UiError | null;
  settings: HeadsetSettings;
}

/** One TURN relay of Settings → Network; the password never leaves the shell. */
export interface TurnRelaySettings {
  /** RFC 7065: `turn:host[:port][?transport=udp|tcp]` or `turns:host[:port][?transport=tcp]`. */
  uri: string;
  username: string;
  /** Whether a password is stored (in the system keyring, or the file for scripted setups). */
  password_stored: boolean;
  /** Where it is: `config` = in the settings file (typing it again here moves it to the keyring). */
  password_storage: PasswordStorage;
}

/** `[network]` as Settings → Network shows it. */
export interface NetworkSettings {
  /** RFC 7064 URIs, `stun:host[:port]`. */
  stun_servers: string[];
  ice: boolean;
  /** Always send audio through a relay. */
  force_relay: boolean;
  turn: TurnRelaySettings[];
}

/** One TURN relay to save. `password`: null keeps the stored one, "" removes it, else replaces. */
export interface TurnRelayInput {
  uri: string;
  username: string;
  password: string | null;
}

/** What Settings → Network saves; blank STUN lines are dropped. */
export interface NetworkSettingsInput {
  stun_servers: string[];
  ice: boolean;
  force_relay: boolean;
  turn: TurnRelayInput[];
}

/** One relay over one transport, as `test_relays` probed it. */
export interface RelayProbe {
  /** The relay URI for this transport (as configured, or its UDP/TCP twin). */
  uri: string;
  host: string;
  transport: 'udp' | 'tcp' | 'tls';
  works: boolean;
  /** Round trip of the first TURN exchange, when it works. */
  rtt_ms: number | null;
  connect_ms: number | null;
  relayed: string | null;
  mapped: string | null;
  /** Why it does not work. */
  error: UiError | null;
  /** Whether calls use this one (the fastest that works). */
  used: boolean;
  /** Position in the fallback order (0 = used), when it works. */
  rank: number | null;
}

/** What `test_relays` found (crates/phone/src/nat/probe.rs `RelayReport`). */
export interface RelayReport {
  relays: RelayProbe[];
  /** The URI calls use, or null when no relay works. */
  used: string | null;
  /** A sentence (English, from the shell) on which relay calls use and why. */
  summary: string;
}

/** The name of the event that carries every change of any call. */
export const CALLS_EVENT = 'calls://update';

// --- The connectivity test (Diagnostics tab; crates/diag's model, crates/phone/src/diag) ---

export type DiagCheckId =
  | 'dns'
  | 'udp'
  | 'sip_ports'
  | 'nat_type'
  | 'sip_alg'
  | 'nat_timeout'
  | 'route'
  | 'rtp'
  | 'relays'
  | 'quality'
  | 'audio';

export type DiagStatus = 'ok' | 'warning' | 'problem' | 'skipped';
export type DiagSipTransport = 'udp' | 'tcp' | 'tls' | 'wss';

export type SafeFix =
  | { kind: 'keep_alive'; secs: number }
  | { kind: 'transport'; transport: DiagSipTransport; port: number }
  | { kind: 'force_relay' };

export interface DiagCheck {
  id: DiagCheckId;
  status: DiagStatus;
  finding: string;
  fix: string | null;
  /** Numbers for IT support; `quality` has `samples` (see {@link QualitySample}). */
  details: Record<string, unknown>;
  safe_fixes?: SafeFix[];
  reason?: string | null;
}

/** One packet of the quality probe: sent at `sent_ms`, round trip `rtt_ms` (null = lost). */
export interface QualitySample {
  seq: number;
  sent_ms: number;
  rtt_ms: number | null;
}

export type VerdictKind = 'works' | 'works_with_relay' | 'fails';

export interface AppliedFix {
  check: DiagCheckId;
  fix: SafeFix;
  description: string;
}

export interface DiagReport {
  verdict: string;
  verdict_kind: VerdictKind;
  duration_ms: number;
  checks: DiagCheck[];
  fixes_applied: AppliedFix[];
}

export interface DiagRunRecord {
  /** RFC 3339, UTC. */
  finished_at: string;
  account_id: string | null;
  report: DiagReport;
}

export interface ExportedReport {
  text_path: string;
  json_path: string;
}

/** The payload of {@link DIAG_EVENT}. */
export type DiagEvent =
  | { kind: 'running'; checks: DiagCheckId[] }
  | { kind: 'check'; check: DiagCheck }
  | { kind: 'verdict'; report: DiagReport }
  | { kind: 'finished'; report: DiagReport };

export const DIAG_EVENT = 'diag://progress';

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
  audio_settings(): Promise<AudioSettings>;
  /** Resolves to the settings as stored; they are used from the next call on. */
  save_audio_settings(settings: AudioSettings): Promise<AudioSettings>;
  /** The headset in use, its state and the `[headset]` switches. */
  headset_status(): Promise<HeadsetStatus>;
  /** Saves the `[headset]` switches; they apply at once. Resolves to them as stored. */
  save_headset_settings(settings: HeadsetSettings): Promise<HeadsetSettings>;
  /** Settings → Network: STUN servers, ICE, force_relay and the TURN relays (no passwords). */
  network_settings(): Promise<NetworkSettings>;
  /**
   * Checks and saves `[network]`; relay passwords go to the system keyring. Rejects with
   * `invalid_network_setting` naming the bad entry. Resolves to the settings as stored; the
   * next call uses them.
   */
  save_network_settings(input: NetworkSettingsInput): Promise<NetworkSettings>;
  /** Probes every saved relay over each transport (a few seconds at most), ranked by round trip. */
  test_relays(): Promise<RelayReport>;
  /**
   * Plays a test tone on the chosen speaker for about three seconds while `cb` gets the
   * microphone's and the tone's levels (about ten a second); resolves when it is over.
   */
  audio_test(cb: (reading: LevelReading) => void): Promise<AudioTestSummary>;

  /** What dialling `target` would do; rejects with `invalid_number` when nothing can be called. */
  dial_preview(target: string): Promise<DialPreview>;
  /** Calls `target`; `account_id` null lets the dial rules choose the account. */
  dial(target: string, account_id: string | null): Promise<CallView>;
  /** Calls the built-in echo line (works without any account). */
  echo_test(): Promise<CallView>;
  answer_call(id: string): Promise<null>;
  /** 603 Decline; 486 Busy Here for a waiting call. */
  reject_call(id: string): Promise<null>;
  hangup_call(id: string): Promise<null>;
  hold_call(id: string, on: boolean): Promise<null>;
  mute_call(id: string, on: boolean): Promise<null>;
  send_dtmf(id: string, digits: string): Promise<null>;
  /** The calls not yet ended. */
  list_calls(): Promise<CallView[]>;
  /** Newest first, at most 500. */
  call_history(): Promise<HistoryEntry[]>;
  clear_history(): Promise<null>;
  /** The address book, sorted by name. */
  list_contacts(): Promise<Contact[]>;
  /** Adds or edits a contact (written to disk before it resolves); rejects with `invalid_contact`. */
  save_contact(input: ContactInput): Promise<Contact>;
  remove_contact(id: string): Promise<null>;
  /** Sets and publishes our status on a registered account; `offline` = appear offline. */
  set_presence(account_id: string, status: PresenceStatus, note: string | null): Promise<null>;
  /** Watches `target` through a registered account; resolves to the URI watched. */
  watch_presence(account_id: string, target: string): Promise<string>;
  /** Calls `cb` with every presence event from now on; resolves to the function that stops. */
  onPresence(cb: (event: PresenceEvent) => void): Promise<() => void>;
  /** The thread with `peer` (any form of its address), oldest first. */
  chat_thread(peer: string): Promise<ChatMessage[]>;
  /** Sends and records a message; its final state comes as a `chat://message` event. */
  send_chat(account_id: string, target: string, text: string): Promise<ChatMessage>;
  /** Calls `cb` with every new or updated message; resolves to the function that stops. */
  onChat(cb: (message: ChatMessage) => void): Promise<() => void>;
  /**
   * Calls `cb` with about ten level readings a second while a call has audio (the command
   * `watch_levels` with a Tauri Channel). Resolves to a function that stops delivering them
   * to `cb`; the contract has no command to stop the stream itself.
   */
  watch_levels(cb: (reading: LevelReading) => void): Promise<() => void>;
  /**
   * Calls `cb` with every change of any call from now on (the `calls://update` event).
   * Resolves to the function that stops listening.
   */
  onCallUpdate(cb: (call: CallView) => void): Promise<() => void>;

  desktop_settings(): Promise<DesktopSettings>;
  save_desktop_settings(settings: DesktopSettings): Promise<DesktopSettings>;
  /** Whether Homeline starts when the user logs in (the OS's autostart entry exists). */
  autostart_enabled(): Promise<boolean>;
  /** Adds or removes the autostart entry; resolves to whether it is there now. */
  set_autostart(on: boolean): Promise<boolean>;
  /** The dialer text of the link Homeline was started with, once; null when none. */
  take_link(): Promise<string | null>;
  /**
   * The UI's language (`en`, `ru`, `zh-CN`): the tray menu, its tooltip and the desktop
   * notifications say their words in it. Resolves to whether the shell has that language.
   */
  set_language(locale: string): Promise<boolean>;
  /**
   * Calls `cb` with the dialer text of every link opened while Homeline runs (the
   * `app://link` event). Resolves to the function that stops listening.
   */
  onLink(cb: (text: string) => void): Promise<() => void>;

  /** Runs the connectivity test; `cb` gets each {@link DIAG_EVENT} of this run. */
  run_diagnostics(
    account_id: string | null,
    background: boolean,
    cb: (event: DiagEvent) => void,
  ): Promise<DiagRunRecord>;
  /** Applies the report's safe fixes: all, or those of the check `check`. */
  apply_diag_fixes(record: DiagRunRecord, check: DiagCheckId | null): Promise<AppliedFix[]>;
  undo_diag_fixes(): Promise<AppliedFix[]>;
  export_diag_report(record: DiagRunRecord): Promise<ExportedReport>;
  diag_history(): Promise<DiagRunRecord[]>;

  open_log_folder(): Promise<null>;
  /** Resolves to the path of the written file. */
  export_logs(): Promise<string>;
  /**
   * Not in the table of docs/app-api.md: the shell's start-up probe. The UI calls it once,
   * when its first real content is on screen; the shell logs the time since launch.
   */
  ui_ready(): Promise<null>;
}

/** Settings → General (`[app]` in the configuration file). */
export interface DesktopSettings {
  /** Closing the window quits Homeline instead of keeping it in the tray. */
  quit_on_close: boolean;
}

/** The event that hands a clicked `sip:`/`sips:`/`tel:` link's dialer text to the window. */
export const LINK_EVENT = 'app://link';

export const TRANSPORTS: readonly Transport[] = ['auto', 'udp', 'tcp', 'tls', 'ws', 'wss'];

/** What a dial prefix may contain (the empty string = no prefix). */
export const DIAL_PREFIX = /^[0-9*#]*$/;

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
  const hint = t('error-unexpected-hint');
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
  return { code: 'unexpected', message: t('error-no-reason'), hint };
}
