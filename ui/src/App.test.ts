import { render, screen, waitFor, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import App from './App.svelte';
import type { Account } from './lib/backend';
import { MockBackend, type MockOptions } from './lib/mock-backend';

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

function setup(options: MockOptions = {}, demo = false) {
  const backend = new MockBackend({ version: '1.2.3', ...options });
  const user = userEvent.setup();
  render(App, { props: { backend, demo } });
  return { backend, user };
}

const tab = (id: string) => screen.getByTestId(`tab-${id}`);
const panel = (id: string) => screen.getByTestId(`panel-${id}`);

describe('App shell', () => {
  it('has a header and four tabs with the tab roles wired up', () => {
    setup();
    expect(screen.getByRole('heading', { level: 1 }).textContent).toBe('Homeline');
    const tabs = within(screen.getByRole('tablist')).getAllByRole('tab');
    expect(tabs.map((t) => t.textContent)).toEqual(['Phone', 'Contacts', 'Diagnostics', 'Settings']);
    for (const t of tabs) {
      const p = document.getElementById(t.getAttribute('aria-controls') ?? '');
      expect(p?.getAttribute('role')).toBe('tabpanel');
      expect(p?.getAttribute('aria-labelledby')).toBe(t.id);
    }
    expect(tab('phone').getAttribute('aria-selected')).toBe('true');
    expect(panel('phone').hidden).toBe(false);
    expect(panel('settings').hidden).toBe(true);
  });

  it('switches tabs on click', async () => {
    const { user } = setup();
    await user.click(tab('contacts'));
    expect(tab('contacts').getAttribute('aria-selected')).toBe('true');
    expect(tab('phone').getAttribute('aria-selected')).toBe('false');
    expect(panel('contacts').hidden).toBe(false);
    expect(panel('phone').hidden).toBe(true);
  });

  it('moves between tabs with the arrow keys, Home and End, with one tab stop', async () => {
    const { user } = setup();
    await user.click(tab('phone'));
    await user.keyboard('{ArrowRight}');
    expect(document.activeElement).toBe(tab('contacts'));
    expect(tab('contacts').getAttribute('aria-selected')).toBe('true');
    expect(tab('contacts').tabIndex).toBe(0);
    expect(tab('phone').tabIndex).toBe(-1);
    await user.keyboard('{End}');
    expect(document.activeElement).toBe(tab('settings'));
    await user.keyboard('{ArrowRight}');
    expect(document.activeElement).toBe(tab('phone'));
    await user.keyboard('{ArrowLeft}');
    expect(tab('settings').getAttribute('aria-selected')).toBe('true');
    await user.keyboard('{Home}');
    expect(tab('phone').getAttribute('aria-selected')).toBe('true');
    expect(panel('phone').hidden).toBe(false);
  });

  it('shows an honest empty state on every tab', async () => {
    const { user } = setup();
    const empty = async (id: string) => {
      await user.click(tab(id));
      return (await within(panel(id)).findByTestId('empty-state')).textContent ?? '';
    };
    expect(await empty('phone')).toContain('No account yet');
    expect(await empty('contacts')).toBe('No contacts yet. Add the people you call and chat with.');
    expect(await empty('diagnostics')).toBe('No test has run yet: press “Test my connection”.');
    expect(await empty('settings')).toContain('No accounts yet');
    expect(document.body.textContent).not.toMatch(/lorem|ipsum/i);
  });

  it('Phone sends a user without accounts to Settings', async () => {
    const { user } = setup();
    const button = await within(panel('phone')).findByRole('button', { name: 'Go to Settings' });
    await user.click(button);
    expect(tab('settings').getAttribute('aria-selected')).toBe('true');
    expect(document.activeElement).toBe(tab('settings'));
  });

  it('Phone lists the accounts with the dialer, and no promise of a coming version', async () => {
    setup({ accounts: [alice] });
    expect(await within(panel('phone')).findByTestId('dial-input')).toBeTruthy();
    expect(panel('phone').textContent).toContain('Alice Example');
    expect(panel('phone').textContent).toContain('sip:alice@example.com');
    expect(panel('phone').textContent).not.toContain('coming version');
    expect(within(panel('phone')).queryByTestId('empty-state')).toBeNull();
  });

  it('Diagnostics shows what is known: version, paths, keyring', async () => {
    const { user } = setup();
    await user.click(tab('diagnostics'));
    const p = panel('diagnostics');
    expect((await within(p).findByTestId('app-version')).textContent).toBe('1.2.3');
    expect(within(p).getByTestId('config-path').textContent).toContain('demo');
    expect(within(p).getByTestId('log-dir').textContent).toContain('demo');
    expect(within(p).getByTestId('keyring-status').textContent).toContain('Keyring available');
  });

  it('each test id exists once in the page', async () => {
    const { user } = setup({ accounts: [alice] });
    for (const id of ['phone', 'contacts', 'diagnostics', 'settings']) {
      await user.click(tab(id));
      await waitFor(() => expect(screen.queryAllByTestId('empty-state').length).toBeLessThanOrEqual(1));
      expect(screen.queryAllByTestId('app-version').length).toBeLessThanOrEqual(1);
    }
  });
});

describe('banners', () => {
  it('warns when there is no system keyring, with its message', async () => {
    setup({
      keyring: {
        available: false,
        backend: 'session only',
        message: 'No system keyring was found; passwords are kept for this session only.',
      },
    });
    const banner = await screen.findByTestId('keyring-warning');
    expect(banner.textContent).toContain('passwords are kept for this session only');
  });

  it('shows no keyring warning when the keyring works', async () => {
    setup();
    await screen.findByTestId('tab-phone');
    await waitFor(() => expect(screen.getByTestId('panel-phone').textContent).toContain('No account yet'));
    expect(screen.queryByTestId('keyring-warning')).toBeNull();
    expect(screen.queryByTestId('config-problem')).toBeNull();
  });

  it('shows a config problem with its message and hint', async () => {
    setup({
      config_problem: {
        code: 'config_invalid',
        message: 'The configuration file has an error on line 4.',
        hint: 'Homeline started with defaults and kept the broken file as config.toml.broken.',
      },
    });
    const banner = await screen.findByTestId('config-problem');
    expect(banner.textContent).toContain('line 4');
    expect(banner.textContent).toContain('config.toml.broken');
  });

  it('shows an error when app_info fails instead of pretending', async () => {
    const backend = new MockBackend();
    backend.fail('app_info', { code: 'internal', message: 'The phone did not start.', hint: 'Restart Homeline.' });
    render(App, { props: { backend } });
    const note = await screen.findByTestId('app-info-error');
    expect(note.textContent).toContain('The phone did not start.');
    expect(note.textContent).toContain('Restart Homeline.');
  });

  it('tells the shell once that the first content is on screen', async () => {
    const { backend } = setup();
    await waitFor(() => expect(backend.calls.filter((c) => c.command === 'ui_ready')).toHaveLength(1));
    const order = backend.calls.map((c) => c.command);
    expect(order.indexOf('ui_ready')).toBeGreaterThan(order.indexOf('list_accounts'));
  });

  it('marks demo mode', async () => {
    setup({}, true);
    expect(screen.getByTestId('demo-badge').textContent).toBe('Demo mode — not connected to Homeline');
  });

  it('shows no demo badge on the real backend', () => {
    setup({}, false);
    expect(screen.queryByTestId('demo-badge')).toBeNull();
  });
});
