import type {
  Account,
  CallDirection,
  CallOutcome,
  CallStats,
  CallView,
  DialPreview,
  HistoryEntry,
  PasswordStorage,
  RegistrationStatus,
  Transport,
  UiError,
} from './backend';

export const PASSWORD_STORAGE_LABEL: Record<PasswordStorage, string> = {
  keyring: 'Password in system keyring',
  session: 'Password kept for this session only',
  config: 'Password in config file (less safe)',
  none: 'No password',
};

export const TRANSPORT_LABEL: Record<Transport, string> = {
  auto: 'Auto',
  udp: 'UDP',
  tcp: 'TCP',
  tls: 'TLS',
  ws: 'WS (WebSocket)',
  wss: 'WSS (secure WebSocket)',
};

/** "48 kHz", "16 kHz / 48 kHz" */
export function formatRates(rates: number[]): string {
  return rates.map((r) => `${r % 1000 === 0 ? r / 1000 : (r / 1000).toFixed(1)} kHz`).join(' / ');
}

export type RegistrationBadge = 'registered' | 'registering' | 'unregistered' | 'failed' | 'direct';

/** What an account's registration badge says, and the failure to explain under it. */
export function registrationView(
  account: Account,
  status: RegistrationStatus | undefined,
  /** Seconds since `status` arrived (counts `retry_in_secs` down). */
  elapsedSecs = 0,
): { kind: RegistrationBadge; label: string; detail: string | null; reason: UiError | null } {
  if (account.registrar === '') {
    return { kind: 'direct', label: 'Direct calls only — no registration', detail: null, reason: null };
  }
  switch (status?.state) {
    case 'registered':
      return { kind: 'registered', label: 'Registered', detail: status.server, reason: null };
    case 'registering':
      return { kind: 'registering', label: 'Registering…', detail: null, reason: null };
    case 'failed':
    case 'stopped': {
      const detail =
        status.state === 'stopped'
          ? 'Stopped trying until the settings change'
          : status.retry_in_secs === null
            ? null
            : status.retry_in_secs - elapsedSecs > 0
              ? `Trying again in ${status.retry_in_secs - elapsedSecs} s`
              : 'Trying again now…';
      return { kind: 'failed', label: 'Failed', detail, reason: status.reason };
    }
    default:
      return { kind: 'unregistered', label: 'Not registered', detail: null, reason: null };
  }
}

/** What the call screen says about a call's state. */
export function callStateText(call: CallView): string {
  switch (call.state) {
    case 'dialing':
      return 'Calling…';
    case 'ringing':
      return 'Ringing…';
    case 'incoming':
      return call.waiting ? 'Waiting call' : 'Incoming call';
    case 'connecting':
      return 'Connecting…';
    case 'active':
      if (call.on_hold) return 'On hold';
      if (call.remote_hold) return 'Held by the other side';
      return 'Connected';
    case 'ending':
      return 'Hanging up…';
    case 'ended':
      return 'Call ended';
  }
}

/** A finished call's outcome in one or two words. */
export function outcomeLabel(outcome: CallOutcome, direction: CallDirection): string {
  switch (outcome) {
    case 'answered':
      return 'Answered';
    case 'missed':
      return 'Missed';
    case 'rejected':
      return direction === 'incoming' ? 'Rejected' : 'Declined';
    case 'cancelled':
      return 'Cancelled';
    case 'failed':
      return 'Failed';
    case 'busy':
      return 'Busy';
  }
}

/** The heading of the short report after a call ends. */
export function endedTitle(call: CallView): string {
  switch (call.outcome) {
    case 'missed':
      return 'Missed call';
    case 'busy':
      return 'Busy';
    case 'failed':
      return 'Call failed';
    case 'cancelled':
      return 'Call cancelled';
    case 'rejected':
      return call.direction === 'incoming' ? 'Call rejected' : 'Call declined';
    default:
      return 'Call ended';
  }
}

/** Who a call is with: the display name, else the echo line's name or the address. */
export function remoteLabel(call: Pick<CallView | HistoryEntry, 'remote' | 'remote_name' | 'account_id'>): string {
  if (call.remote_name) return call.remote_name;
  if (call.account_id === null && call.remote === 'echo') return 'Echo test';
  return call.remote;
}

/** "0:07", "12:34", "1:02:03". */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const ss = String(s).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** When a call was, in local time: "14:05", "Yesterday 14:05", "Mon 14:05", "3 Mar 2025 14:05". */
export function formatWhen(ts: number, now: number = Date.now()): string {
  const d = new Date(ts);
  const time = `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
  const day = (x: Date) => new Date(x.getFullYear(), x.getMonth(), x.getDate()).getTime();
  const days = Math.round((day(new Date(now)) - day(d)) / 86_400_000);
  if (days === 0) return time;
  if (days === 1) return `Yesterday ${time}`;
  if (days > 1 && days < 7) return `${WEEKDAYS[d.getDay()]} ${time}`;
  return `${d.getDate()} ${MONTHS[d.getMonth()]} ${d.getFullYear()} ${time}`;
}

/** The line under the dial field: "Calls 0301234 from Office (prefix 9)", "Direct call to …", "Echo test". */
export function previewText(p: DialPreview): string {
  if (p.account_id === null) {
    return p.account_name === 'Direct call' ? `Direct call to ${p.uri}` : p.account_name;
  }
  // The rule reads "prefix 9 → Office"; the account is named already.
  const rule = p.rule === null ? '' : ` (${p.rule.split(' → ')[0]})`;
  return `Calls ${p.uri} from ${p.account_name}${rule}`;
}

export type Quality = 'good' | 'fair' | 'poor' | 'unknown';

/** The plain word for a call's quality, from the MOS estimate (ITU-T G.107 bands). */
export function qualityOf(stats: CallStats | null): { kind: Quality; label: string } {
  const mos = stats?.mos ?? null;
  if (mos === null) return { kind: 'unknown', label: 'No audio yet' };
  if (mos >= 4.0) return { kind: 'good', label: 'Good' };
  if (mos >= 3.6) return { kind: 'fair', label: 'Fair' };
  return { kind: 'poor', label: 'Poor' };
}
