// Words for the connectivity test's ids, as crates/diag's `CheckId::title` says them.
import type { DiagCheckId, DiagStatus, VerdictKind } from './backend';
import { labels } from './i18n.svelte';

export const CHECK_TITLES: Record<DiagCheckId, string> = labels(
  ['dns', 'udp', 'sip_ports', 'nat_type', 'sip_alg', 'nat_timeout', 'route', 'rtp', 'relays', 'quality', 'audio'],
  'check',
);

export const STATUS_LABELS: Record<DiagStatus, string> = labels(['ok', 'warning', 'problem', 'skipped'], 'diag-status');

export const VERDICT_CLASS: Record<VerdictKind, string> = {
  works: 'ok',
  works_with_relay: 'warning',
  fails: 'problem',
};
