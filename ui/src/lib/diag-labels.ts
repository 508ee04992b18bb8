// Words for the connectivity test's ids, as crates/diag's `CheckId::title` says them.
import type { DiagCheckId, DiagStatus, VerdictKind } from './backend';

export const CHECK_TITLES: Record<DiagCheckId, string> = {
  dns: 'Name lookup',
  udp: 'Internet traffic for calls (UDP)',
  sip_ports: 'Connection to your phone provider',
  nat_type: "Your router's address translation",
  sip_alg: 'Router meddling with calls (SIP ALG)',
  nat_timeout: 'How long your router remembers a call',
  route: 'Route of your calls',
  rtp: 'Voice path',
  relays: 'Relay servers',
  quality: 'Call quality',
  audio: 'Microphone and speaker',
};

export const STATUS_LABELS: Record<DiagStatus, string> = {
  ok: 'OK',
  warning: 'Warning',
  problem: 'Problem',
  skipped: 'Not tested',
};

export const VERDICT_CLASS: Record<VerdictKind, string> = {
  works: 'ok',
  works_with_relay: 'warning',
  fails: 'problem',
};
