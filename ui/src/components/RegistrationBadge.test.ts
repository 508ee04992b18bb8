import { render, screen, waitFor, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import App from '../App.svelte';
import type { Account, RegistrationStatus } from '../lib/backend';
import { registrationView } from '../lib/labels';
import RegistrationBadge from './RegistrationBadge.svelte';
import { MockBackend, type MockOptions } from '../lib/mock-backend';

const alice: Account = {
  id: 'acc-1',
  display_name: 'Alice Example',
  sip_address: 'sip:alice@example.com',
  auth_user: '',
  registrar: 'sip:pbx.example.com',
  transport: 'udp',
  password_storage: 'keyring',
  dial_prefix: '',
  is_default: false,
};
const dora: Account = { ...alice, id: 'acc-2', display_name: 'Direct Dora', registrar: '' };

const status = (over: Partial<RegistrationStatus>): RegistrationStatus => ({
  account_id: 'acc-1',
  state: 'idle',
  reason: null,
  server: null,
  expires_secs: null,
  retry_in_secs: null,
  register_requests: 0,
  note: null,
  ...over,
});

const refused = status({
  state: 'failed',
  server: '127.0.0.1 over UDP port 5999',
  retry_in_secs: 30,
  register_requests: 1,
  reason: {
    code: 'transport_error',
    message: 'Could not reach 127.0.0.1 over UDP port 5999: nothing listens on that port.',
    hint: 'UDP port 5999 may be blocked by a firewall or the provider.',
  },
});

async function setup(options: MockOptions, tab: 'phone' | 'settings') {
  const backend = new MockBackend({ registrationDelayMs: null, ...options });
  const user = userEvent.setup();
  render(App, { props: { backend } });
  await waitFor(() => expect(backend.registrationListeners).toBe(1));
  if (tab === 'settings') await user.click(screen.getByTestId('tab-settings'));
  await screen.findByText('Alice Example');
  return { backend, user };
}

const rowOf = (name: string) => {
  const row = screen.getAllByRole('listitem').find((li) => li.textContent?.includes(name));
  if (!row) throw new Error(`no row for ${name}`);
  return within(row);
};

describe('registration badges', () => {
  for (const tab of ['settings', 'phone'] as const) {
    it(`${tab}: follows each state, and shows the reason only on failure`, async () => {
      const { backend } = await setup({ accounts: [alice, dora] }, tab);
      const badge = () => rowOf('Alice Example').getByTestId('account-registration');
      expect(badge().textContent).toBe('Not registered');
      expect(rowOf('Direct Dora').getByTestId('account-registration').textContent).toBe(
        'Direct calls only — no registration',
      );

      backend.emitRegistration(status({ state: 'registering' }));
      await waitFor(() => expect(badge().textContent).toBe('Registering…'));
      expect(rowOf('Alice Example').queryByTestId('account-registration-reason')).toBeNull();

      backend.emitRegistration(refused);
      await waitFor(() => expect(badge().textContent).toBe('Failed'));
      const reason = rowOf('Alice Example').getByTestId('account-registration-reason');
      expect(reason.textContent).toContain('nothing listens on that port');
      expect(reason.textContent).toContain('may be blocked by a firewall');
      expect(reason.dataset.code).toBe('transport_error');
      expect(rowOf('Alice Example').getByText('Trying again in 30 s')).toBeTruthy();

      backend.emitRegistration(status({ state: 'registered', server: 'pbx.example.com over UDP', expires_secs: 600 }));
      await waitFor(() => expect(badge().textContent).toBe('Registered'));
      expect(rowOf('Alice Example').queryByTestId('account-registration-reason')).toBeNull();

      backend.emitRegistration(status({ state: 'unregistered' }));
      await waitFor(() => expect(badge().textContent).toBe('Not registered'));
    });
  }

  it('shows the states the backend already had when the UI started', async () => {
    await setup({ accounts: [alice], registrations: [refused] }, 'settings');
    await waitFor(() => expect(rowOf('Alice Example').getByTestId('account-registration').textContent).toBe('Failed'));
    expect(rowOf('Alice Example').getByTestId('account-registration-reason').textContent).toContain('127.0.0.1');
  });

  it('counts the retry delay down', () => {
    const failed = { ...refused, retry_in_secs: 5 };
    const acc = { ...alice };
    expect(registrationView(acc, failed, 0).detail).toBe('Trying again in 5 s');
    expect(registrationView(acc, failed, 3).detail).toBe('Trying again in 2 s');
    expect(registrationView(acc, failed, 5).detail).toBe('Trying again now…');
    expect(registrationView(acc, undefined).label).toBe('Not registered');
    expect(registrationView({ ...acc, registrar: '' }, failed).kind).toBe('direct');
  });

  it('a stopped registration says it stopped trying', async () => {
    const { backend } = await setup({ accounts: [alice] }, 'settings');
    backend.emitRegistration({ ...refused, state: 'stopped', retry_in_secs: null });
    await waitFor(() => expect(rowOf('Alice Example').getByTestId('account-registration').textContent).toBe('Failed'));
    expect(rowOf('Alice Example').getByText('Stopped trying until the settings change')).toBeTruthy();
  });

  it('the mock simulates registering, then registered or failed, for a saved account', async () => {
    const backend = new MockBackend({ registrationDelayMs: 5 });
    const seen: string[] = [];
    const unlisten = await backend.onRegistration((s) => seen.push(`${s.account_id}:${s.state}`));
    const ok = await backend.save_account({ ...alice, id: null, password: null });
    const bad = await backend.save_account({ ...alice, id: null, registrar: 'sip:127.0.0.1:5999', password: null });
    await waitFor(() => expect(seen).toHaveLength(4));
    expect(seen).toEqual(
      expect.arrayContaining([`${ok.id}:registering`, `${ok.id}:registered`, `${bad.id}:registering`, `${bad.id}:failed`]),
    );
    const states = await backend.registration_states();
    expect(states.find((s) => s.account_id === bad.id)?.reason?.message).toContain('127.0.0.1');
    await backend.remove_account(ok.id);
    expect((await backend.registration_states()).map((s) => s.account_id)).toEqual([bad.id]);
    unlisten();
    expect(backend.registrationListeners).toBe(0);
  });

  it('stops listening when the app goes away', async () => {
    const backend = new MockBackend({ registrationDelayMs: null });
    const { unmount } = render(App, { props: { backend } });
    await waitFor(() => expect(backend.registrationListeners).toBe(1));
    unmount();
    expect(backend.registrationListeners).toBe(0);
  });
});

describe('the transport note', () => {
  it('says how a registration got through when the server told us', async () => {
    render(RegistrationBadge, {
      props: {
        account: alice,
        status: status({ state: 'registered', expires_secs: 600, note: 'UDP got no answer; registered over TCP.' }),
      },
    });
    expect(screen.getByTestId('account-registration-note').textContent).toBe('UDP got no answer; registered over TCP.');
  });
});
