import type { PasswordStorage, Transport } from './backend';

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
