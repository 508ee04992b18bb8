import type { Account, HistoryEntry } from './backend';
import type { MockOptions } from './mock-backend';

const DEMO_ACCOUNTS: Account[] = [
  {
    id: 'acc-office',
    display_name: 'Office',
    sip_address: 'sip:alice@pbx.example.com',
    auth_user: '',
    registrar: 'sip:pbx.example.com',
    transport: 'tls',
    password_storage: 'keyring',
    dial_prefix: '9',
    is_default: true,
  },
  {
    id: 'acc-home',
    display_name: 'Home',
    sip_address: 'sip:alice@voip.example.net',
    auth_user: '',
    registrar: 'sip:voip.example.net',
    transport: 'udp',
    password_storage: 'keyring',
    dial_prefix: '8',
    is_default: false,
  },
];

/** A few finished calls of the last days, newest first. */
function demoHistory(now: number): HistoryEntry[] {
  const min = 60_000;
  const entry = (over: Partial<HistoryEntry> & Pick<HistoryEntry, 'id' | 'remote' | 'outcome'>): HistoryEntry => ({
    account_id: 'acc-office',
    direction: 'outgoing',
    remote_name: null,
    started_at: now,
    answered_at: null,
    ended_at: now,
    reason: null,
    ...over,
  });
  const at = (agoMin: number, talkMin: number | null) => ({
    started_at: now - agoMin * min,
    answered_at: talkMin === null ? null : now - agoMin * min + 5_000,
    ended_at: now - agoMin * min + 5_000 + (talkMin ?? 0) * min,
  });
  return [
    entry({
      id: 'call-h4',
      remote: 'sip:bob@example.com',
      remote_name: 'Bob Example',
      direction: 'incoming',
      outcome: 'missed',
      ...at(42, null),
    }),
    entry({ id: 'call-h3', remote: '0301234', outcome: 'answered', ...at(180, 4.2) }),
    entry({ id: 'call-h2', remote: '0309999', outcome: 'busy', reason: 'Busy', ...at(60 * 26, null) }),
    entry({
      id: 'call-h1',
      remote: 'sip:carol@example.org',
      remote_name: 'Carol',
      direction: 'incoming',
      account_id: 'acc-home',
      outcome: 'answered',
      ...at(60 * 50, 12.5),
    }),
  ];
}

/**
 * `?contacts`: people whose simulated presence covers every status (the mock derives it from
 * the user part) and who chat in English, Russian and Chinese.
 */
const DEMO_CONTACTS: NonNullable<MockOptions['contacts']> = [
  { id: 'demo-bob', name: 'Bob Example', address: 'sip:bob@example.com', note: 'Site office' },
  { id: 'demo-ivan', name: 'Иван Петров', address: 'sip:ivan.away@example.ru', note: 'Бухгалтерия' },
  { id: 'demo-wang', name: '王小明', address: 'sip:wang.busy@example.cn', note: '销售部' },
  { id: 'demo-carol', name: 'Carol (on a call)', address: 'sip:carol.phone@example.com', note: '' },
  { id: 'demo-dave', name: 'Dave', address: 'sip:dave.off@example.com', note: 'Messages fail: offline' },
  { id: 'demo-desk', name: 'Front desk', address: '+44 20 7946 0958', note: '' },
];

/**
 * Demo mode only: parameters in the address start the mock in a given state, so every screen
 * can be looked at in a browser: `?keyring=off`, `?config-problem`, `?audio=none`,
 * `?audio=error`, `?accounts=demo` (two accounts with dial prefixes 9 and 8), `?contacts`, `?history`
 * (a few past calls), `?incoming` or `?incoming=SECONDS` (Bob calls after 5 s or SECONDS).
 */
export function demoOptions(search: string, now = Date.now()): MockOptions {
  const q = new URLSearchParams(search);
  const options: MockOptions = {};
  if (q.get('accounts') === 'demo') options.accounts = DEMO_ACCOUNTS;
  if (q.has('history')) options.history = demoHistory(now);
  if (q.has('contacts')) options.contacts = DEMO_CONTACTS;
  if (q.has('incoming')) {
    const secs = Number(q.get('incoming'));
    options.incomingAfterMs = (q.get('incoming') !== '' && Number.isFinite(secs) && secs >= 0 ? secs : 5) * 1000;
  }
  if (q.get('keyring') === 'off') {
    options.keyring = {
      available: false,
      backend: 'session only',
      message: 'No system keyring was found (demo); passwords are kept for this session only.',
    };
  }
  if (q.has('config-problem')) {
    options.config_problem = {
      code: 'config_invalid',
      message: 'The configuration file has an error on line 7 (demo).',
      hint: 'Homeline started with default settings and kept the broken file beside it as config.toml.broken.',
    };
  }
  const audio = q.get('audio');
  if (audio === 'none' || audio === 'error') {
    options.audio = {
      host: 'Demo',
      inputs: [],
      outputs: [],
      error:
        audio === 'error'
          ? {
              code: 'audio_unavailable',
              message: 'The audio system could not be asked for its devices (demo).',
              hint: 'Check that a sound server is running, then press Refresh.',
            }
          : null,
    };
  }
  return options;
}
