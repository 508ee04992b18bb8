import { render, screen, waitFor, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import App from '../App.svelte';
import type { Account, AccountInput } from '../lib/backend';
import { MockBackend, type MockOptions } from '../lib/mock-backend';

const alice: Account = {
  id: 'acc-1',
  display_name: 'Alice Example',
  sip_address: 'sip:alice@example.com',
  auth_user: '',
  registrar: 'sip:pbx.example.com',
  transport: 'tls',
  password_storage: 'keyring',
  dial_prefix: '',
  is_default: false,
};

async function openSettings(options: MockOptions = {}) {
  const backend = new MockBackend(options);
  const user = userEvent.setup();
  render(App, { props: { backend } });
  await user.click(screen.getByTestId('tab-settings'));
  await screen.findByRole('heading', { name: 'Accounts' });
  await waitFor(() => expect(backend.calls.some((c) => c.command === 'list_accounts')).toBe(true));
  return { backend, user };
}

const field = (id: string) => screen.getByTestId(id) as HTMLInputElement;
const rows = () => screen.queryAllByTestId('account-row');
const savedInputs = (b: MockBackend) =>
  b.calls.filter((c) => c.command === 'save_account').map((c) => (c.args as { input: AccountInput }).input);

describe('Settings → Accounts', () => {
  it('adds an account and shows where its password lives', async () => {
    const { backend, user } = await openSettings();
    expect(within(screen.getByTestId('panel-settings')).getByTestId('empty-state').textContent).toContain(
      'No accounts yet',
    );
    await user.click(screen.getByTestId('add-account'));
    expect(document.activeElement).toBe(field('account-display-name'));
    expect(field('account-auth-user').placeholder).toBe('same as SIP address user');
    expect(field('account-registrar').placeholder).toBe('none — direct calls only');
    expect(field('account-password').type).toBe('password');
    const transport = screen.getByTestId('account-transport') as HTMLSelectElement;
    expect(transport.tagName).toBe('SELECT');
    expect([...transport.options].map((o) => o.value)).toEqual(['auto', 'udp', 'tcp', 'tls', 'ws', 'wss']);

    await user.type(field('account-display-name'), 'Alice Example');
    await user.type(field('account-sip-address'), 'sip:alice@example.com');
    await user.type(field('account-password'), 's3cret');
    await user.type(field('account-registrar'), 'sip:pbx.example.com:5060');
    await user.selectOptions(transport, 'tls');
    await user.click(screen.getByTestId('account-save'));

    await waitFor(() => expect(rows()).toHaveLength(1));
    expect(savedInputs(backend)).toEqual([
      {
        id: null,
        display_name: 'Alice Example',
        sip_address: 'sip:alice@example.com',
        auth_user: '',
        registrar: 'sip:pbx.example.com:5060',
        transport: 'tls',
        password: 's3cret',
        dial_prefix: '',
        is_default: false,
      },
    ]);
    const row = rows()[0];
    expect(row.textContent).toContain('Alice Example');
    expect(row.textContent).toContain('sip:alice@example.com');
    expect(within(row).getByTestId('account-password-storage').textContent).toBe('Password in system keyring');
    expect(screen.queryByTestId('account-display-name')).toBeNull();
    expect(screen.queryByTestId('empty-state')).toBeNull();
    expect(document.activeElement).toBe(screen.getByTestId('add-account'));
    expect(screen.getByTestId('account-status').textContent).toBe('Added Alice Example.');
  });

  it('checks required fields before asking the backend', async () => {
    const { backend, user } = await openSettings();
    await user.click(screen.getByTestId('add-account'));
    await user.click(screen.getByTestId('account-save'));
    const err = screen.getByTestId('account-error');
    expect(err.textContent).toContain('display name');
    expect(err.textContent).toContain('SIP address');
    expect(field('account-display-name').getAttribute('aria-invalid')).toBe('true');
    expect(savedInputs(backend)).toHaveLength(0);
  });

  it("shows the backend's UiError with its hint next to the form and keeps the form", async () => {
    const { user } = await openSettings();
    await user.click(screen.getByTestId('add-account'));
    await user.type(field('account-display-name'), 'Bob');
    await user.type(field('account-sip-address'), 'bob-at-example');
    await user.click(screen.getByTestId('account-save'));
    const err = await screen.findByTestId('account-error');
    expect(err.getAttribute('data-code')).toBe('invalid_account');
    expect(err.textContent).toContain('is not a SIP address');
    expect(err.textContent).toContain('Check the SIP address field.');
    expect(field('account-display-name').value).toBe('Bob');
    expect(rows()).toHaveLength(0);
  });

  it('edits an account: an empty password keeps the stored one, and says so', async () => {
    const { backend, user } = await openSettings({ accounts: [alice] });
    await user.click(within(rows()[0]).getByTestId('account-edit'));
    expect(field('account-display-name').value).toBe('Alice Example');
    expect(field('account-registrar').value).toBe('sip:pbx.example.com');
    expect((screen.getByTestId('account-transport') as HTMLSelectElement).value).toBe('tls');
    expect(field('account-password').value).toBe('');
    expect(screen.getByText('Leave empty to keep the stored password.')).toBeTruthy();

    await user.clear(field('account-display-name'));
    await user.type(field('account-display-name'), 'Alice at work');
    await user.click(screen.getByTestId('account-save'));

    await waitFor(() => expect(rows()[0].textContent).toContain('Alice at work'));
    expect(savedInputs(backend)[0]).toMatchObject({ id: 'acc-1', display_name: 'Alice at work', password: null });
    expect(within(rows()[0]).getByTestId('account-password-storage').textContent).toBe('Password in system keyring');
  });

  it('can forget a stored password on edit', async () => {
    const { backend, user } = await openSettings({ accounts: [alice] });
    await user.click(within(rows()[0]).getByTestId('account-edit'));
    await user.click(screen.getByTestId('account-password-forget'));
    expect(field('account-password').disabled).toBe(true);
    await user.click(screen.getByTestId('account-save'));
    await waitFor(() => expect(screen.queryByTestId('account-display-name')).toBeNull());
    expect(savedInputs(backend)[0].password).toBe('');
    expect(within(rows()[0]).getByTestId('account-password-storage').textContent).toBe('No password');
  });

  it('cancel leaves the account as it was', async () => {
    const { backend, user } = await openSettings({ accounts: [alice] });
    await user.click(within(rows()[0]).getByTestId('account-edit'));
    await user.clear(field('account-display-name'));
    await user.type(field('account-display-name'), 'Changed');
    await user.click(screen.getByTestId('account-cancel'));
    expect(rows()[0].textContent).toContain('Alice Example');
    expect(savedInputs(backend)).toHaveLength(0);
  });

  it('removes an account only after confirmation', async () => {
    const { backend, user } = await openSettings({ accounts: [alice] });
    await user.click(within(rows()[0]).getByTestId('account-remove'));
    expect(backend.calls.some((c) => c.command === 'remove_account')).toBe(false);
    await user.click(screen.getByTestId('account-remove-cancel'));
    expect(screen.queryByTestId('account-remove-confirm')).toBeNull();
    expect(rows()).toHaveLength(1);

    await user.click(within(rows()[0]).getByTestId('account-remove'));
    await user.click(screen.getByTestId('account-remove-confirm'));
    await waitFor(() => expect(rows()).toHaveLength(0));
    expect(backend.calls.find((c) => c.command === 'remove_account')?.args).toEqual({ id: 'acc-1' });
    expect(screen.getByTestId('empty-state').textContent).toContain('No accounts yet');
  });

  it('shows a failed removal with its hint and keeps the account', async () => {
    const { backend, user } = await openSettings({ accounts: [alice] });
    backend.fail('remove_account', {
      code: 'keyring_locked',
      message: 'The keyring is locked.',
      hint: 'Unlock it and try again.',
    });
    await user.click(within(rows()[0]).getByTestId('account-remove'));
    await user.click(screen.getByTestId('account-remove-confirm'));
    const err = await screen.findByTestId('account-remove-error');
    expect(err.textContent).toContain('Unlock it and try again.');
    expect(rows()).toHaveLength(1);
  });

  it.each([
    ['keyring', 'Password in system keyring'],
    ['session', 'Password kept for this session only'],
    ['config', 'Password in config file (less safe)'],
    ['none', 'No password'],
  ] as const)('labels password storage %s', async (storage, label) => {
    await openSettings({ accounts: [{ ...alice, password_storage: storage }] });
    await waitFor(() => expect(rows()).toHaveLength(1));
    expect(within(rows()[0]).getByTestId('account-password-storage').textContent).toBe(label);
  });

  it('without a keyring, a new password is kept for this session only and the form says so', async () => {
    const { user } = await openSettings({
      keyring: { available: false, backend: 'session only', message: 'No system keyring.' },
    });
    await screen.findByTestId('keyring-warning');
    await user.click(screen.getByTestId('add-account'));
    expect(screen.getByText(/kept for this session only/)).toBeTruthy();
    await user.type(field('account-display-name'), 'Alice');
    await user.type(field('account-sip-address'), 'sip:alice@example.com');
    await user.type(field('account-password'), 'pw');
    await user.click(screen.getByTestId('account-save'));
    await waitFor(() => expect(rows()).toHaveLength(1));
    expect(within(rows()[0]).getByTestId('account-password-storage').textContent).toBe(
      'Password kept for this session only',
    );
  });

  it('takes a dial prefix and the default mark, and shows them', async () => {
    const { backend, user } = await openSettings({ accounts: [{ ...alice, is_default: true }] });
    await user.click(screen.getByTestId('add-account'));
    await user.type(field('account-display-name'), 'Home');
    await user.type(field('account-sip-address'), 'sip:alice@voip.example.net');
    await user.type(field('account-registrar'), 'sip:voip.example.net');
    await user.type(field('account-dial-prefix'), '*8');
    await user.click(screen.getByTestId('account-default'));
    await user.click(screen.getByTestId('account-save'));
    await waitFor(() => expect(rows()).toHaveLength(2));
    expect(savedInputs(backend)[0]).toMatchObject({ dial_prefix: '*8', is_default: true });
    expect(rows()[1].textContent).toContain('dial prefix *8');
    expect(rows()[1].textContent).toContain('default account');
    // One default account: Alice is not the default any more.
    expect(rows()[0].textContent).not.toContain('default account');
  });

  it('points out a wrong dial prefix as it is typed and does not save it', async () => {
    const { backend, user } = await openSettings({ accounts: [alice] });
    await user.click(within(rows()[0]).getByTestId('account-edit'));
    expect(field('account-dial-prefix').value).toBe('');
    expect((screen.getByTestId('account-default') as HTMLInputElement).checked).toBe(false);
    await user.type(field('account-dial-prefix'), '9a');
    expect(screen.getByTestId('account-dial-prefix-error').textContent).toContain('Only digits, * and #');
    expect(field('account-dial-prefix').getAttribute('aria-invalid')).toBe('true');
    await user.click(screen.getByTestId('account-save'));
    const err = await screen.findByTestId('account-error');
    expect(err.textContent).toContain('The dial prefix may contain only digits, * and #.');
    expect(document.activeElement).toBe(field('account-dial-prefix'));
    expect(savedInputs(backend)).toHaveLength(0);
    await user.type(field('account-dial-prefix'), '{Backspace}');
    expect(screen.queryByTestId('account-dial-prefix-error')).toBeNull();
    await user.click(screen.getByTestId('account-save'));
    await waitFor(() => expect(savedInputs(backend)).toHaveLength(1));
    expect(savedInputs(backend)[0].dial_prefix).toBe('9');
  });

  it('shows the dial prefix the phone refused, with its hint', async () => {
    const { user } = await openSettings({ accounts: [{ ...alice, dial_prefix: '9' }] });
    await user.click(screen.getByTestId('add-account'));
    await user.type(field('account-display-name'), 'Bob');
    await user.type(field('account-sip-address'), 'sip:bob@example.com');
    await user.type(field('account-dial-prefix'), '9');
    await user.click(screen.getByTestId('account-save'));
    const err = await screen.findByTestId('account-error');
    expect(err.textContent).toContain('Alice Example already uses the dial prefix 9.');
    expect(err.textContent).toContain('Check the dial prefix field.');
  });
});
