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
import { has, i18n, labels, t } from './i18n.svelte';

// Each table reads its words in the language in use whenever a value is read.
export const PASSWORD_STORAGE_LABEL: Record<PasswordStorage, string> = labels(
  ['keyring', 'session', 'config', 'none'],
  'password-storage',
);

export const TRANSPORT_LABEL: Record<Transport, string> = labels(
  ['auto', 'udp', 'tcp', 'tls', 'ws', 'wss'],
  'transport',
);

/** "48 kHz", "16 kHz / 48 kHz" */
export function formatRates(rates: number[]): string {
  return rates
    .map((r) => t('rate-khz', { rate: r / 1000 }))
    .join(' / ');
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
    return { kind: 'direct', label: t('reg-direct'), detail: null, reason: null };
  }
  switch (status?.state) {
    case 'registered':
      return { kind: 'registered', label: t('reg-registered'), detail: status.server, reason: null };
    case 'registering':
      return { kind: 'registering', label: t('reg-registering'), detail: null, reason: null };
    case 'failed':
    case 'stopped': {
      const detail =
        status.state === 'stopped'
          ? t('reg-stopped')
          : status.retry_in_secs === null
            ? null
            : status.retry_in_secs - elapsedSecs > 0
              ? t('reg-retry-in', { seconds: status.retry_in_secs - elapsedSecs })
              : t('reg-retry-now');
      return { kind: 'failed', label: t('reg-failed'), detail, reason: status.reason };
    }
    default:
      return { kind: 'unregistered', label: t('reg-unregistered'), detail: null, reason: null };
  }
}

/** What the call screen says about a call's state. */
export function callStateText(call: CallView): string {
  switch (call.state) {
    case 'dialing':
      return t('call-state-dialing');
    case 'ringing':
      return t('call-state-ringing');
    case 'incoming':
      return call.waiting ? t('call-state-waiting') : t('call-state-incoming');
    case 'connecting':
      return t('call-state-connecting');
    case 'active':
      if (call.on_hold) return t('call-state-on-hold');
      if (call.remote_hold) return t('call-state-remote-hold');
      return t('call-state-active');
    case 'ending':
      return t('call-state-ending');
    case 'ended':
      return t('call-state-ended');
  }
}

/** A finished call's outcome in one or two words. */
export function outcomeLabel(outcome: CallOutcome, direction: CallDirection): string {
  switch (outcome) {
    case 'answered':
      return t('outcome-answered');
    case 'missed':
      return t('outcome-missed');
    case 'rejected':
      return direction === 'incoming' ? t('outcome-rejected') : t('outcome-declined');
    case 'cancelled':
      return t('outcome-cancelled');
    case 'failed':
      return t('outcome-failed');
    case 'busy':
      return t('outcome-busy');
  }
}

/** The heading of the short report after a call ends. */
export function endedTitle(call: CallView): string {
  switch (call.outcome) {
    case 'missed':
      return t('ended-missed');
    case 'busy':
      return t('ended-busy');
    case 'failed':
      return t('ended-failed');
    case 'cancelled':
      return t('ended-cancelled');
    case 'rejected':
      return call.direction === 'incoming' ? t('ended-rejected') : t('ended-declined');
    default:
      return t('ended-default');
  }
}

/** Who a call is with: the display name, else the echo line's name or the address. */
export function remoteLabel(call: Pick<CallView | HistoryEntry, 'remote' | 'remote_name' | 'account_id'>): string {
  if (call.remote_name) return call.remote_name;
  if (call.account_id === null && call.remote === 'echo') return t('echo-test-name');
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

const LOCALE_TAG: Record<string, string> = { en: 'en-GB', ru: 'ru', 'zh-CN': 'zh-CN' };

/** When a call was, in local time: "14:05", "Yesterday 14:05", "Mon 14:05", "3 Mar 2025 14:05". */
export function formatWhen(ts: number, now: number = Date.now()): string {
  const d = new Date(ts);
  const time = `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
  const day = (x: Date) => new Date(x.getFullYear(), x.getMonth(), x.getDate()).getTime();
  const days = Math.round((day(new Date(now)) - day(d)) / 86_400_000);
  if (days === 0) return time;
  if (days === 1) return t('when-yesterday', { time });
  const tag = LOCALE_TAG[i18n.locale] ?? 'en-GB';
  if (days > 1 && days < 7) {
    return t('when-weekday', { day: new Intl.DateTimeFormat(tag, { weekday: 'short' }).format(d), time });
  }
  const date = new Intl.DateTimeFormat(tag, { day: 'numeric', month: 'short', year: 'numeric' }).format(d);
  return t('when-date', { date, time });
}

/** The line under the dial field: "Calls 0301234 from Office (prefix 9)", "Direct call to …", "Echo test". */
export function previewText(p: DialPreview): string {
  if (p.account_id === null) {
    return p.account_name === 'Direct call' ? t('preview-direct', { uri: p.uri }) : previewAccountName(p.account_name);
  }
  // The rule reads "prefix 9 → Office"; the account is named already.
  if (p.rule === null) return t('preview-calls', { uri: p.uri, account: p.account_name });
  return t('preview-calls-rule', { uri: p.uri, account: p.account_name, rule: ruleText(p.rule.split(' → ')[0]) });
}

/** The core's rule, "prefix 9", in the language in use. */
function ruleText(rule: string): string {
  const m = /^prefix (.+)$/.exec(rule);
  return m ? t('preview-rule-prefix', { prefix: m[1] }) : rule;
}

/** The core names its built-in lines in English; say them in the language in use. */
function previewAccountName(name: string): string {
  return name === 'Echo test' ? t('echo-test-name') : name;
}

export type Quality = 'good' | 'fair' | 'poor' | 'unknown';

/** The plain word for a call's quality, from the MOS estimate (ITU-T G.107 bands). */
export function qualityOf(stats: CallStats | null): { kind: Quality; label: string } {
  const mos = stats?.mos ?? null;
  if (mos === null) return { kind: 'unknown', label: t('quality-unknown') };
  if (mos >= 4.0) return { kind: 'good', label: t('quality-good') };
  if (mos >= 3.6) return { kind: 'fair', label: t('quality-fair') };
  return { kind: 'poor', label: t('quality-poor') };
}

/** `host` and `port` of a TURN URI (`turns:203.0.113.5:443?transport=tcp`, `turn:[2001:db8::1]`). */
function relayHostPort(uri: string): { host: string; port: string } | null {
  const m = /^turns?:(\[[^\]]+\]|[^:?]+)(?::(\d+))?/i.exec(uri.trim());
  if (!m) return null;
  return { host: m[1], port: m[2] ?? (uri.toLowerCase().startsWith('turns:') ? '5349' : '3478') };
}

/**
 * How the call's audio travels, in the user's language. English is the core's own sentence
 * (it has the same parts); other languages are built from the route, the relay and the
 * reason code, falling back to the core's sentence for anything unknown.
 */
export function routeText(call: {
  media_route?: string | null;
  media_route_text?: string | null;
  media_route_reason?: string | null;
  relay?: string | null;
}): string | null {
  const english = call.media_route_text ?? null;
  const route = call.media_route ?? null;
  if (i18n.locale === 'en' || route === null) return english;
  let text: string;
  if (route.startsWith('relay-')) {
    const transport = route.slice('relay-'.length).toUpperCase();
    const hp = call.relay ? relayHostPort(call.relay) : null;
    text = hp ? t('route-relay', { host: hp.host, transport, port: hp.port }) : t('route-relay-unknown', { transport });
    const reason = call.media_route_reason;
    if (reason && has(`route-because-${reason}`)) {
      text = t('route-with-reason', { route: text, reason: t(`route-because-${reason}`) });
    }
  } else if (has(`route-${route}`)) {
    text = t(`route-${route}`);
  } else {
    return english;
  }
  return text;
}
