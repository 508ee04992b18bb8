import { screen, waitFor, within } from '@testing-library/svelte';
import { describe, expect, it } from 'vitest';
import type { Contact, RegistrationStatus } from '../lib/backend';
import { account } from '../lib/test-fixtures';
import { argsOf, renderApp, text } from './test-utils';

const office = account({ id: 'acc-office', display_name: 'Office', sip_address: 'sip:me@example.com', is_default: true });
const ivan: Contact = { id: 'c-ivan', name: 'Иван', address: 'sip:ivan@example.ru', note: '' };
const desk: Contact = { id: 'c-desk', name: 'Desk', address: '+44 20 7946 0958', note: '' };
const registered: RegistrationStatus = {
  account_id: 'acc-office',
  state: 'registered',
  reason: null,
  server: 'pbx',
  expires_secs: 600,
  retry_in_secs: null,
  register_requests: 1,
  note: null,
};

const row = (id: string) => screen.getAllByTestId('contact').find((r) => r.dataset.contactId === id)!;
const dot = (id: string) => within(row(id)).getByTestId('presence-dot');

describe('Contacts tab: presence', () => {
  it('watches every contact through the registered account and follows each change', async () => {
    const { backend } = await renderApp(
      { accounts: [office], registrations: [registered], contacts: [ivan, desk], presenceDelayMs: null },
      'contacts',
    );
    await waitFor(() => expect(argsOf(backend, 'watch_presence')).toHaveLength(2));
    expect(argsOf(backend, 'watch_presence')).toEqual([
      { account_id: 'acc-office', target: '+442079460958' },
      { account_id: 'acc-office', target: 'sip:ivan@example.ru' },
    ]);
    expect(dot('c-ivan').dataset.status).toBe('unknown');

    backend.emitPresence({ account_id: 'acc-office', kind: 'contact', uri: 'sip:ivan@example.ru', status: 'busy', note: 'Совещание 会议' });
    await waitFor(() => expect(dot('c-ivan').dataset.status).toBe('busy'));
    expect(within(row('c-ivan')).getByTestId('contact-presence-note').textContent).toBe('Совещание 会议');
    expect(dot('c-desk').dataset.status).toBe('unknown');

    backend.emitPresence({ account_id: 'acc-office', kind: 'contact', uri: 'SIP:ivan@example.ru', status: 'available', note: null });
    await waitFor(() => expect(dot('c-ivan').dataset.status).toBe('available'));
    expect(within(row('c-ivan')).queryByTestId('contact-presence-note')).toBeNull();

    // A number is watched without its spacing, as a user at the account's domain.
    backend.emitPresence({ account_id: 'acc-office', kind: 'contact', uri: 'sip:+442079460958@example.com', status: 'on-the-phone', note: null });
    await waitFor(() => expect(dot('c-desk').dataset.status).toBe('on-the-phone'));

    backend.emitPresence({
      account_id: 'acc-office',
      kind: 'unavailable',
      uri: 'sip:ivan@example.ru',
      reason: { code: 'presence_unavailable', message: 'Presence is not available from your provider: 489 Bad Event.', hint: 'Calls and messages still work.' },
    });
    await waitFor(() => expect(dot('c-ivan').dataset.status).toBe('unknown'));
    expect(dot('c-ivan').getAttribute('title')).toContain('not available from your provider');
  });

  it('watches nothing and offers no status until an account is registered', async () => {
    const { backend } = await renderApp({ accounts: [office], contacts: [ivan], presenceDelayMs: null, registrationDelayMs: null }, 'contacts');
    await waitFor(() => expect(screen.getAllByTestId('contact')).toHaveLength(1));
    expect(text('own-status-published')).toContain('once an account is registered');
    expect((screen.getByTestId('own-status-set') as HTMLButtonElement).disabled).toBe(true);
    expect(argsOf(backend, 'watch_presence')).toEqual([]);

    backend.emitRegistration(registered);
    await waitFor(() => expect(argsOf(backend, 'watch_presence')).toHaveLength(1));
    expect((screen.getByTestId('own-status-set') as HTMLButtonElement).disabled).toBe(false);
  });

  it('sets the own status with a note and shows what the server holds', async () => {
    const { backend, user } = await renderApp(
      { accounts: [office], registrations: [registered], contacts: [], presenceDelayMs: 10 },
      'contacts',
    );
    await waitFor(() => expect((screen.getByTestId('own-status-set') as HTMLButtonElement).disabled).toBe(false));
    const options = [...screen.getByTestId('own-status-select').querySelectorAll('option')].map((o) => o.textContent);
    expect(options).toEqual(['Available', 'Away', 'Busy / Do not disturb', 'Appear offline']);
    await user.selectOptions(screen.getByTestId('own-status-select'), 'busy');
    await user.type(screen.getByTestId('own-status-note'), 'На встрече');
    await user.click(screen.getByTestId('own-status-set'));
    expect(argsOf(backend, 'set_presence')).toEqual([{ account_id: 'acc-office', status: 'busy', note: 'На встрече' }]);
    await waitFor(() => expect(text('own-status-published')).toContain('Busy / Do not disturb'));

    backend.fail('set_presence', {
      code: 'presence_unavailable',
      message: 'Presence is not available from your provider: 501 Not Implemented.',
      hint: 'Calls and messages still work.',
    });
    await user.selectOptions(screen.getByTestId('own-status-select'), 'offline');
    await user.click(screen.getByTestId('own-status-set'));
    const error = await screen.findByTestId('own-status-error');
    expect(error.dataset.code).toBe('presence_unavailable');
  });
});
