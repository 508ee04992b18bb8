import { render, screen, waitFor, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it } from 'vitest';
import type { NetworkSettings } from '../lib/backend';
import { setLanguage } from '../lib/i18n.svelte';
import { MockBackend } from '../lib/mock-backend';
import NetworkSection from './NetworkSection.svelte';

const NETWORK: NetworkSettings = {
  stun_servers: ['stun:stun.example.com:3478', 'stun:192.0.2.1'],
  ice: true,
  force_relay: false,
  turn: [
    { uri: 'turns:turn.example.com:443?transport=tcp', username: 'alice', password_stored: true, password_storage: 'keyring' },
    { uri: 'turn:dead.example.com', username: 'bob', password_stored: true, password_storage: 'config' },
  ],
};

function setup(network: NetworkSettings = NETWORK) {
  const backend = new MockBackend({ network });
  const user = userEvent.setup();
  render(NetworkSection, { props: { backend } });
  return { backend, user };
}

const inputs = (id: string) => screen.getAllByTestId(id) as HTMLInputElement[];

describe('Settings → Network', () => {
  afterEach(() => setLanguage('en'));

  it('shows the STUN servers, the relays without their passwords, and the switches', async () => {
    setup();
    const stun = (await screen.findByTestId('network-stun')) as HTMLTextAreaElement;
    expect(stun.value).toBe('stun:stun.example.com:3478\nstun:192.0.2.1');
    expect(inputs('network-turn-uri').map((i) => i.value)).toEqual([
      'turns:turn.example.com:443?transport=tcp',
      'turn:dead.example.com',
    ]);
    expect(inputs('network-turn-username').map((i) => i.value)).toEqual(['alice', 'bob']);
    const passwords = inputs('network-turn-password');
    expect(passwords.map((i) => i.value)).toEqual(['', '']);
    expect(passwords[0].type).toBe('password');
    const states = screen.getAllByTestId('network-turn-password-state');
    expect(states[0].textContent).toContain('stored in the system keyring');
    // A password from the settings file says so, and how to move it.
    expect(states[1].textContent).toContain('in the settings file');
    expect((screen.getByTestId('network-ice') as HTMLInputElement).checked).toBe(true);
    expect((screen.getByTestId('network-force-relay') as HTMLInputElement).checked).toBe(false);
  });

  it('saves what was edited: STUN lines, a new relay with its password, a removed relay, the switches', async () => {
    const { backend, user } = setup();
    const stun = (await screen.findByTestId('network-stun')) as HTMLTextAreaElement;
    await user.clear(stun);
    await user.type(stun, 'stun:stun.example.com\n\n  stun:198.51.100.1:3478  ');
    // Remove bob's relay, add a new one with a password.
    await user.click(screen.getAllByTestId('network-turn-remove')[1]);
    await user.click(screen.getByTestId('network-turn-add'));
    const rows = screen.getAllByTestId('network-turn-row');
    expect(rows).toHaveLength(2);
    const fresh = within(rows[1]);
    await user.type(fresh.getByTestId('network-turn-uri'), 'turn:203.0.113.5?transport=tcp');
    await user.type(fresh.getByTestId('network-turn-username'), 'carol');
    await user.type(fresh.getByTestId('network-turn-password'), 'pa55');
    expect(fresh.getByTestId('network-turn-password-state').textContent).toContain('never into the settings file');
    await user.click(screen.getByTestId('network-force-relay'));
    await user.click(screen.getByTestId('network-ice'));
    await user.click(screen.getByTestId('network-save'));

    await waitFor(() => expect(screen.getByTestId('network-status').textContent).toContain('Saved'));
    const saved = backend.calls.filter((c) => c.command === 'save_network_settings');
    expect(saved).toHaveLength(1);
    expect(saved[0].args).toEqual({
      input: {
        stun_servers: ['stun:stun.example.com', 'stun:198.51.100.1:3478'],
        ice: false,
        force_relay: true,
        turn: [
          // null keeps alice's stored password.
          { uri: 'turns:turn.example.com:443?transport=tcp', username: 'alice', password: null },
          { uri: 'turn:203.0.113.5?transport=tcp', username: 'carol', password: 'pa55' },
        ],
      },
    });
    // The form shows what was stored: the typed password is gone, the field says it is stored.
    const after = inputs('network-turn-password');
    expect(after.map((i) => i.value)).toEqual(['', '']);
    expect(screen.getAllByTestId('network-turn-password-state')[1].textContent).toContain(
      'stored in the system keyring',
    );
    expect((await backend.network_settings()).turn.map((r) => r.username)).toEqual(['alice', 'carol']);
  });

  it("asks for the password again when a relay's address changes", async () => {
    const { user } = setup();
    const uri = (await screen.findAllByTestId('network-turn-uri'))[0];
    await user.type(uri, 'x');
    expect(screen.getAllByTestId('network-turn-password-state')[0].textContent).toContain('type the password again');
    await user.type(screen.getAllByTestId('network-turn-password')[0], 'pw');
    expect(screen.getAllByTestId('network-turn-password-state')[0].textContent).toContain('new password');
  });

  it('forgetting a stored password sends "" for it', async () => {
    const { backend, user } = setup();
    await user.click((await screen.findAllByTestId('network-turn-forget'))[0]);
    expect(screen.getAllByTestId('network-turn-password-state')[0].textContent).toContain('will be forgotten');
    await user.click(screen.getByTestId('network-save'));
    await waitFor(() => expect(screen.getByTestId('network-status').textContent).toContain('Saved'));
    const [call] = backend.calls.filter((c) => c.command === 'save_network_settings');
    const input = (call.args as { input: { turn: { password: string | null }[] } }).input;
    expect(input.turn.map((r) => r.password)).toEqual(['', null]);
    expect((await backend.network_settings()).turn[0].password_stored).toBe(false);
  });

  it('shows a bad address as a plain error naming it, and keeps what was typed', async () => {
    const { user } = setup();
    const uri = (await screen.findAllByTestId('network-turn-uri'))[0];
    await user.clear(uri);
    await user.type(uri, 'turns:x?transport=udp');
    await user.click(screen.getByTestId('network-save'));
    const note = await screen.findByTestId('network-save-error');
    expect(note.getAttribute('data-code')).toBe('invalid_network_setting');
    expect(note.textContent).toContain('turns:x?transport=udp');
    expect(inputs('network-turn-uri')[0].value).toBe('turns:x?transport=udp');
    expect(screen.getByTestId('network-status').textContent).toBe('');
  });

  it('tests the relays: per relay and transport whether it works and its round trip, the one calls use marked', async () => {
    const { user } = setup();
    await user.click(await screen.findByTestId('network-test'));
    const rows = await screen.findAllByTestId('network-test-row');
    // turns: over TLS only; turn: over UDP and its TCP twin.
    expect(rows).toHaveLength(3);
    const cells = rows.map((r) => [...r.querySelectorAll('td')].map((td) => td.textContent?.replace(/\s+/g, ' ').trim()));
    expect(cells[0][0]).toBe('turn.example.com');
    expect(cells[0][1]).toBe('TLS');
    expect(cells[0][2]).toContain('Works');
    expect(cells[0][2]).toContain('used by calls');
    expect(cells[0][3]).toMatch(/^\d+ ms$/);
    expect(rows[0].dataset.used).toBe('true');
    expect(cells[1].slice(0, 2)).toEqual(['dead.example.com', 'UDP']);
    expect(cells[1][2]).toContain('Does not work');
    expect(cells[1][2]).toContain('did not answer');
    expect(cells[1][3]).toBe('—');
    expect(cells[2][1]).toBe('TCP');
    expect(screen.getAllByTestId('network-test-used-tag')).toHaveLength(1);
    expect(screen.getByTestId('network-test-summary').textContent).toContain('Calls use turn.example.com over TLS');
  });

  it('says so when no relay works, and shows a failed test as an error note', async () => {
    const { backend, user } = setup({
      ...NETWORK,
      turn: [{ uri: 'turn:dead.example.com', username: 'bob', password_stored: true, password_storage: 'keyring' }],
    });
    await user.click(await screen.findByTestId('network-test'));
    await waitFor(() => expect(screen.getByTestId('network-test-summary').textContent).toContain('No relay works'));
    expect(screen.queryByTestId('network-test-used-tag')).toBeNull();

    backend.fail('test_relays', { code: 'calls_stopped', message: 'The call engine has stopped.', hint: 'Restart Homeline.' });
    await user.click(screen.getByTestId('network-test'));
    const note = await screen.findByTestId('network-test-error');
    expect(note.textContent).toContain('Restart Homeline');
    expect(screen.queryByTestId('network-test-results')).toBeNull();
  });

  it('says when a password is kept for this session only (no keyring)', async () => {
    const backend = new MockBackend({
      network: { stun_servers: [], ice: true, force_relay: false, turn: [] },
      keyring: { available: false, backend: 'session only', message: null },
    });
    const user = userEvent.setup();
    render(NetworkSection, { props: { backend } });
    await user.click(await screen.findByTestId('network-turn-add'));
    await user.type(screen.getByTestId('network-turn-uri'), 'turn:192.0.2.9');
    await user.type(screen.getByTestId('network-turn-username'), 'u');
    await user.type(screen.getByTestId('network-turn-password'), 'p');
    await user.click(screen.getByTestId('network-save'));
    await waitFor(() => expect(screen.getByTestId('network-turn-password-state').textContent).toContain('this session only'));
  });

  it('speaks Russian, and cannot test without a relay', async () => {
    setLanguage('ru');
    setup({ stun_servers: [], ice: true, force_relay: false, turn: [] });
    expect(await screen.findByText('Ретрансляторов пока нет.')).toBeTruthy();
    expect((screen.getByTestId('network-test') as HTMLButtonElement).disabled).toBe(true);
    expect(screen.getByTestId('network-save').textContent).toContain('Сохранить сетевые настройки');
  });
});
