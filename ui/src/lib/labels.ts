import type { Account, PasswordStorage, RegistrationStatus, Transport, UiError } from './backend';

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
