// No component may say something in English that bypasses the catalogs: (1) the templates and
// scripts are scanned for literal English text, and (2) every tab is rendered in Russian and its
// visible text, labels, titles and placeholders are searched for the English catalog's words.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { screen, waitFor } from '@testing-library/svelte';
import { FluentParser, TextElement, Visitor } from '@fluent/syntax';
import { describe, expect, it } from 'vitest';
import type { Contact, HistoryEntry, RegistrationStatus } from '../lib/backend';
import { CATALOGS, setLanguage } from '../lib/i18n.svelte';
import { account, callView } from '../lib/test-fixtures';
import { renderApp, STILL } from './test-utils';

/** Names, protocols and units that read the same in every language. */
const PROPER = new Set([
  'Homeline', 'SIP', 'STUN', 'TURN', 'Opus', 'UDP', 'TCP', 'TLS', 'WS', 'WSS', 'WebSocket', 'SRTP', 'RTP',
  'NAT', 'ALG', 'ICE', 'DNS', 'MOS', 'RTT', 'MIT', 'Apache', 'IT', 'ms', 'dB', 'kHz', 'Flash', 'LED', 'LEDs', 'VPN', 'Wi', 'Fi',
  'MD', 'SHA', 'URI',
  'ABC', 'DEF', 'GHI', 'JKL', 'MNO', 'PQRS', 'TUV', 'WXYZ', 'sip', 'sips', 'tel', 'echo',
]);

/** The parts of example addresses (sip:bob@example.com). */
const EXAMPLES = new Set(['bob', 'example', 'com']);

const SRC = join(__dirname, '..');
const svelteFiles = [
  join(SRC, 'App.svelte'),
  ...readdirSync(join(SRC, 'components'))
    .filter((f) => f.endsWith('.svelte'))
    .map((f) => join(SRC, 'components', f)),
];

/** The text with every `{…}` expression (braces balanced, strings skipped) removed. */
function withoutExpressions(s: string): string {
  let out = '';
  let depth = 0;
  let quote: string | null = null;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (depth > 0 && quote) {
      if (c === '\\') i++;
      else if (c === quote) quote = null;
      continue;
    }
    if (depth > 0 && (c === "'" || c === '"' || c === '`')) quote = c;
    else if (c === '{') depth++;
    else if (c === '}' && depth > 0) depth--;
    else if (depth === 0) out += c;
  }
  return out;
}

/** The English words of a piece of static text, proper names left out. */
function englishWords(text: string): string[] {
  // Addresses such as sip:alice@example.com or turns:relay.example.com:443?transport=tcp are
  // examples, not words.
  text = text.replace(/[\w.+:-]+@[\w.-]+/g, '').replace(/\b(?:sips?|turns?|stuns?):[^\s…"'«»]+/g, '');
  return (text.match(/[A-Za-z][A-Za-z']+/g) ?? []).filter((w) => !PROPER.has(w));
}

describe('no hard-coded English', () => {
  it('no template has literal English text, or English in an aria-label, title, placeholder or label', () => {
    const found: string[] = [];
    for (const file of svelteFiles) {
      const markup = readFileSync(file, 'utf8')
        .replace(/<script[\s\S]*?<\/script>/g, '')
        .replace(/<style[\s\S]*?<\/style>/g, '')
        .replace(/<!--[\s\S]*?-->/g, '');
      const bare = withoutExpressions(markup);
      // Text between tags.
      for (const m of bare.matchAll(/>([^<>]+)</g)) {
        const words = englishWords(m[1]);
        if (words.length > 0) found.push(`${file.split('/').pop()}: text "${m[1].trim()}"`);
      }
      // Attributes people read (a static value; `{…}` ones were removed above).
      for (const m of bare.matchAll(/\s(aria-label|title|placeholder|label|alt|aria-valuetext)="([^"]*)"/g)) {
        if (englishWords(m[2]).length > 0) found.push(`${file.split('/').pop()}: ${m[1]}="${m[2]}"`);
      }
    }
    expect(found).toEqual([]);
  });

  it('no script says a capitalised English phrase or sentence itself', () => {
    // Literals the code compares with what the core sends, not words it shows.
    const allowed = new Set(["'Direct call'", "'Echo test'"]);
    const files = [
      ...svelteFiles,
      ...['labels.ts', 'diag-labels.ts', 'presence.svelte.ts', 'app-state.svelte.ts', 'calls.svelte.ts', 'backend.ts'].map(
        (f) => join(SRC, 'lib', f),
      ),
    ];
    // Names of keyboard keys and of DOM types, which nobody reads.
    const KEYS = new Set(['ArrowRight', 'ArrowLeft', 'ArrowUp', 'ArrowDown', 'Home', 'End', 'Enter', 'Escape']);
    const found: string[] = [];
    for (const file of files) {
      let code = readFileSync(file, 'utf8');
      if (file.endsWith('.svelte')) code = (code.match(/<script[\s\S]*?<\/script>/g) ?? []).join('\n');
      code = code.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '').replace(/console\.\w+\([^)]*\)/g, '');
      // A quoted literal that starts with a capital and has a second word, or ends a sentence.
      for (const m of code.matchAll(/(['"`])([A-Z][a-z]+(?: [^'"`]+|[^'"`]*[.…!?])?)\1/g)) {
        if (!allowed.has(`'${m[2]}'`) && !KEYS.has(m[2])) found.push(`${file.split('/').pop()}: ${m[0]}`);
      }
    }
    expect(found).toEqual([]);
  });
});

/** The words (3+ ASCII letters) of a catalog's texts, placeables and ids left out. */
function catalogWords(source: string): Set<string> {
  const words = new Set<string>();
  class Texts extends Visitor {
    visitTextElement(node: TextElement): void {
      for (const w of node.value.match(/[A-Za-z]{3,}/g) ?? []) words.add(w);
    }
  }
  new Texts().visit(new FluentParser().parse(source));
  return words;
}

describe('no English left on screen in Russian', () => {
  // The English UI's own words, less names and the parts of example addresses.
  const english = [...catalogWords(CATALOGS.en)].filter((w) => !PROPER.has(w) && !EXAMPLES.has(w));

  it.each(['ru', 'zh-CN'] as const)('the %s catalog has no English word but names and examples', (locale) => {
    const left = [...catalogWords(CATALOGS[locale])].filter((w) => !PROPER.has(w) && !EXAMPLES.has(w));
    expect(left).toEqual([]);
  });

  const office = account({ id: 'acc-office', display_name: 'Офис', sip_address: 'sip:me@example.com', is_default: true });
  const registered: RegistrationStatus = {
    account_id: 'acc-office',
    state: 'registered',
    reason: null,
    server: 'pbx.example.com',
    expires_secs: 600,
    retry_in_secs: null,
    register_requests: 1,
    note: null,
  };
  const ivan: Contact = { id: 'c-ivan', name: 'Иван', address: 'sip:ivan@example.ru', note: 'Бухгалтерия' };
  const now = Date.now();
  const entry = (i: number, over: Partial<HistoryEntry>): HistoryEntry => ({
    id: `call-${i}`,
    account_id: 'acc-office',
    direction: 'outgoing',
    remote: `sip:c${i}@example.com`,
    remote_name: null,
    started_at: now - i * 86_400_000 - 60_000,
    answered_at: null,
    ended_at: now - i * 86_400_000,
    outcome: 'cancelled',
    reason: null,
    ...over,
  });
  const history = [
    entry(0, { direction: 'incoming', outcome: 'missed', remote_name: 'Иван' }),
    entry(1, { outcome: 'answered', answered_at: now - 86_400_000 - 50_000 }),
    entry(3, { outcome: 'busy' }),
    entry(9, { outcome: 'rejected', direction: 'incoming' }),
  ];

  // What the mock backend itself says (its data, not the UI's words).
  const MOCK_DATA = [
    /Demo (headset )?(microphone|speakers|headset)/g,
    /\(demo\) nothing is written to disk/g,
    /\(demo\) no log folder/g,
    /demo, kept in memory only/g,
    /(?<=: )Demo(?=\.)/g, // the audio host's name
  ];

  /** Everything a person can read or hear in the page: text, labels, titles, placeholders. */
  function readable(): string {
    const parts = [document.body.textContent ?? ''];
    for (const el of document.body.querySelectorAll('*')) {
      for (const a of ['aria-label', 'title', 'placeholder', 'aria-valuetext']) {
        const v = el.getAttribute(a);
        if (v) parts.push(v);
      }
    }
    return MOCK_DATA.reduce((page, data) => page.replace(data, ''), parts.join('\n'));
  }

  function englishIn(page: string): string[] {
    // Example URIs (placeholders such as turns:relay.example.com:443?transport=tcp) are not words.
    const text = page.replace(/\b(?:sips?|turns?|stuns?):[^\s…"'«»]+/g, '');
    return english.flatMap((w) => {
      const m = new RegExp(`.{0,30}\\b${w}\\b.{0,30}`).exec(text);
      return m ? [`${w}: …${m[0]}…`] : [];
    });
  }

  it('on every tab, in a call, and in the account form', async () => {
    setLanguage('ru');
    const { backend, user } = await renderApp({
      accounts: [office],
      registrations: [registered],
      contacts: [ivan],
      history,
      presenceDelayMs: null,
      chatDelayMs: null,
      callTiming: STILL,
    });
    await waitFor(() => expect(screen.getAllByTestId('history-entry')).toHaveLength(4));
    const seen: Record<string, string[]> = {};
    seen.phone = englishIn(readable());

    await user.click(screen.getByTestId('tab-contacts'));
    await screen.findByTestId('contact');
    await user.click(screen.getByTestId('contact-chat'));
    await screen.findByTestId('chat');
    seen.contacts = englishIn(readable());

    await user.click(screen.getByTestId('tab-diagnostics'));
    await screen.findByTestId('diag-history');
    seen.diagnostics = englishIn(readable());

    await user.click(screen.getByTestId('tab-settings'));
    await screen.findByTestId('headset-state');
    await screen.findByTestId('audio-microphone');
    seen.settings = englishIn(readable());
    await user.click(screen.getByTestId('add-account'));
    await user.click(screen.getByTestId('account-save'));
    await screen.findByTestId('account-error');
    seen.accountForm = englishIn(readable());

    await user.click(screen.getByTestId('tab-phone'));
    backend.emitCall(
      callView({
        id: 'call-live',
        account_id: 'acc-office',
        remote: 'sip:ivan@example.ru',
        remote_name: 'Иван',
        answered_at: Date.now() - 4_000,
        stats: {
          codec: 'opus/48000',
          packets_sent: 200,
          packets_received: 198,
          loss_pct: 1,
          jitter_ms: 3.5,
          rtt_ms: 40,
          playout_delay_ms: 40,
          mos: 4.2,
          srtp: true,
        },
      }),
    );
    await screen.findByTestId('call-screen');
    await user.click(screen.getByTestId('dtmf-button'));
    seen.call = englishIn(readable());

    // A second call comes in while talking (call waiting), is answered, and the first is on hold.
    backend.emitCall(
      callView({ id: 'call-2', account_id: 'acc-office', remote: 'sip:wang@example.cn', state: 'incoming', waiting: true, answered_at: null }),
    );
    await screen.findByTestId('incoming-call');
    seen.incoming = englishIn(readable());
    backend.emitCall(callView({ id: 'call-2', account_id: 'acc-office', remote: 'sip:wang@example.cn', answered_at: Date.now() }));
    backend.emitCall(
      callView({ id: 'call-live', account_id: 'acc-office', remote: 'sip:ivan@example.ru', remote_name: 'Иван', on_hold: true }),
    );
    await screen.findByTestId('call-list-item');
    seen.twoCalls = englishIn(readable());

    // Both end: the short report.
    for (const id of ['call-live', 'call-2']) {
      backend.emitCall(
        callView({ id, account_id: 'acc-office', remote: 'sip:ivan@example.ru', state: 'ended', outcome: 'busy', ended_at: Date.now() }),
      );
    }
    await screen.findByTestId('call-ended');
    seen.ended = englishIn(readable());

    expect(seen).toEqual({
      phone: [],
      contacts: [],
      diagnostics: [],
      settings: [],
      accountForm: [],
      call: [],
      incoming: [],
      twoCalls: [],
      ended: [],
    });
  });
});
