import { screen, waitFor } from '@testing-library/svelte';
import { describe, expect, it } from 'vitest';
import type { AccountInput } from '../lib/backend';
import { firstRunAccount, parseAddress } from '../lib/first-run';
import { setLanguage } from '../lib/i18n.svelte';
import { argsOf, renderApp, text } from './test-utils';

const saved = (b: Parameters<typeof argsOf>[0]) =>
  argsOf(b, 'save_account').map((a) => (a as { input: AccountInput }).input);

describe('first run: two fields', () => {
  it('reads a SIP address with or without its scheme, and refuses what is not one', () => {
    expect(parseAddress('alice@pbx.example.com')).toEqual({ user: 'alice', host: 'pbx.example.com', secure: false });
    expect(parseAddress(' sip:bob@sip.example.net:5080 ')).toEqual({
      user: 'bob',
      host: 'sip.example.net:5080',
      secure: false,
    });
    expect(parseAddress('sips:carol@example.org')?.secure).toBe(true);
    for (const bad of ['alice', '@example.com', 'alice@', 'alice@exa mple.com', 'alice@.example.com', 'a@b..c'])
      expect(parseAddress(bad), bad).toBeNull();
    expect(firstRunAccount('sips:carol@example.org', 'pw', null)).toMatchObject({
      sip_address: 'sips:carol@example.org',
      registrar: 'sips:example.org',
      transport: 'auto',
    });
  });

  it('the SIP address and password alone register, then the echo test is offered', async () => {
    const { backend, user } = await renderApp({ registrationDelayMs: 30 });
    await screen.findByTestId('first-run');
    await user.type(screen.getByTestId('first-run-address'), 'alice@pbx.example.com');
    await user.type(screen.getByTestId('first-run-password'), 'secret');
    await user.click(screen.getByTestId('first-run-connect'));
    await waitFor(() => expect(saved(backend)).toHaveLength(1));
    expect(saved(backend)[0]).toEqual({
      id: null,
      display_name: 'pbx.example.com',
      sip_address: 'sip:alice@pbx.example.com',
      auth_user: '',
      registrar: 'sip:pbx.example.com',
      transport: 'auto',
      password: 'secret',
      dial_prefix: '',
      is_default: true,
    });
    // The steps stay on screen though the account list is no longer empty.
    await waitFor(() =>
      expect(screen.getByTestId('first-run-step').getAttribute('data-state')).toBe('registered'),
    );
    expect(text('first-run-step')).toBe('Registered: calls to and from sip:alice@pbx.example.com work now.');
    // The end of the first run: the echo test, one click away (its call screen takes over).
    await user.click(screen.getByTestId('echo-test-button'));
    await waitFor(() => expect(argsOf(backend, 'echo_test').length + argsOf(backend, 'dial').length).toBeGreaterThan(0));
  });

  it('a mistyped address is pointed out before anything is saved', async () => {
    const { backend, user } = await renderApp({ registrationDelayMs: 30 });
    await user.type(await screen.findByTestId('first-run-address'), 'alice');
    await user.click(screen.getByTestId('first-run-connect'));
    expect(text('first-run-error')).toContain('Enter your SIP address as name@provider');
    expect(saved(backend)).toHaveLength(0);
    expect(document.activeElement).toBe(screen.getByTestId('first-run-address'));
  });

  it('a failure says why; trying again updates the same account', async () => {
    const { backend, user } = await renderApp({ registrationDelayMs: 30 });
    await user.type(await screen.findByTestId('first-run-address'), 'alice@fail.example.com');
    await user.click(screen.getByTestId('first-run-connect'));
    await waitFor(() => expect(screen.getByTestId('first-run-step').getAttribute('data-state')).toBe('failed'));
    expect(text('first-run-step')).toBe('Homeline could not register with fail.example.com.');
    expect(text('first-run-error')).toContain('Could not reach');
    await user.click(screen.getByTestId('first-run-again'));
    await user.type(screen.getByTestId('first-run-address'), 'alice@pbx.example.com');
    await user.click(screen.getByTestId('first-run-connect'));
    await waitFor(() => expect(saved(backend)).toHaveLength(2));
    const [first, second] = saved(backend);
    expect(first.id).toBeNull();
    expect(second.id).not.toBeNull();
    expect(second.registrar).toBe('sip:pbx.example.com');
    await waitFor(() =>
      expect(screen.getByTestId('first-run-step').getAttribute('data-state')).toBe('registered'),
    );
    // Done: the Phone tab as every day, with the dialer.
    await user.click(screen.getByTestId('first-run-done'));
    expect(screen.queryByTestId('first-run')).toBeNull();
    expect(screen.getByTestId('panel-phone').textContent).toContain('pbx.example.com');
  });

  it('speaks Russian and Chinese', async () => {
    setLanguage('ru');
    await renderApp({ registrationDelayMs: 30 });
    expect((await screen.findByTestId('first-run')).textContent).toContain('Настройка телефона');
    setLanguage('zh-CN');
    await waitFor(() => expect(screen.getByTestId('first-run').textContent).toContain('设置您的电话'));
  });
});
