import { screen, waitFor } from '@testing-library/svelte';
import { describe, expect, it } from 'vitest';
import { account } from '../lib/test-fixtures';
import { argsOf, renderApp, STILL, text } from './test-utils';

const office = account({ id: 'acc-office', display_name: 'Office', dial_prefix: '9' });
const home = account({
  id: 'acc-home',
  display_name: 'Home',
  sip_address: 'sip:alice@voip.example.net',
  registrar: 'sip:voip.example.net',
  is_default: true,
});
const accounts = [office, home];

const input = () => screen.getByTestId('dial-input') as HTMLInputElement;

describe('Dialer', () => {
  it('previews what a number would do as you type, asking once typing pauses', async () => {
    const { backend, user } = await renderApp({ accounts });
    await user.type(await screen.findByTestId('dial-input'), '90301234');
    await waitFor(() => expect(text('dial-preview')).toBe('Calls 0301234 from Office (prefix 9)'));
    expect(screen.getByTestId('dial-preview').dataset.state).toBe('ok');
    expect(screen.getByTestId('dial-preview').dataset.accountId).toBe('acc-office');
    // Typed in one go: one question for the whole number, not one per key.
    expect(argsOf(backend, 'dial_preview')).toEqual([{ target: '90301234' }]);
  });

  it('says direct call, echo test or the default account', async () => {
    const { user } = await renderApp({ accounts });
    const field = await screen.findByTestId('dial-input');
    await user.type(field, 'sip:bob@example.org');
    await waitFor(() => expect(text('dial-preview')).toBe('Direct call to sip:bob@example.org'));
    await user.clear(field);
    await user.type(field, 'echo');
    await waitFor(() => expect(text('dial-preview')).toBe('Echo test'));
    await user.clear(field);
    await user.type(field, '0301234');
    await waitFor(() => expect(text('dial-preview')).toBe('Calls 0301234 from Home'));
    await user.clear(field);
    await waitFor(() => expect(screen.getByTestId('dial-preview').dataset.state).toBe('empty'));
  });

  it('shows why a text cannot be called, plainly', async () => {
    const { user } = await renderApp({ accounts });
    await user.type(await screen.findByTestId('dial-input'), 'call mum');
    await waitFor(() => expect(screen.getByTestId('dial-preview').dataset.state).toBe('error'));
    expect(text('dial-preview')).toContain('"call mum" is not a number or a SIP address.');
    expect(text('dial-preview')).toContain('Use digits');
    expect(input().getAttribute('aria-invalid')).toBe('true');
  });

  it('the keypad types into the field, by click and by keyboard', async () => {
    const { user } = await renderApp({ accounts });
    await user.click(await screen.findByTestId('keypad-9'));
    await user.click(screen.getByTestId('keypad-0'));
    await user.click(screen.getByTestId('keypad-star'));
    await user.click(screen.getByTestId('keypad-hash'));
    expect(input().value).toBe('90*#');
    // Focus on a key: typing digits presses them, Enter/Space press the focused key.
    screen.getByTestId('keypad-5').focus();
    await user.keyboard('12#');
    await user.keyboard('{Enter}');
    expect(input().value).toBe('90*#12#5');
    expect(screen.getByTestId('keypad-star').getAttribute('aria-label')).toBe('star');
    await user.click(screen.getByTestId('dial-backspace'));
    expect(input().value).toBe('90*#12#');
  });

  it('Enter dials with the dial rules deciding, and the call screen takes over', async () => {
    const { backend, user } = await renderApp({ accounts, callTiming: STILL });
    expect((screen.getByTestId('dial-button') as HTMLButtonElement).disabled).toBe(true);
    await user.type(await screen.findByTestId('dial-input'), '90301234{Enter}');
    expect(argsOf(backend, 'dial')).toEqual([{ target: '90301234', account_id: null }]);
    expect(await screen.findByTestId('call-screen')).toBeTruthy();
    expect(text('call-state')).toBe('Calling…');
    expect(text('call-remote')).toBe('0301234');
    expect(text('call-account')).toBe('via Office');
    expect(screen.queryByTestId('dial-input')).toBeNull();
  });

  it('the Call button dials too; a refused number shows the reason and stays', async () => {
    const { backend, user } = await renderApp({ accounts });
    await user.type(await screen.findByTestId('dial-input'), 'hello?');
    await user.click(screen.getByTestId('dial-button'));
    const err = await screen.findByTestId('dial-error');
    expect(err.dataset.code).toBe('invalid_number');
    expect(input().value).toBe('hello?');
    expect(screen.queryByTestId('call-screen')).toBeNull();
    expect(argsOf(backend, 'dial')).toEqual([{ target: 'hello?', account_id: null }]);
  });

  it('offers the echo test beside the keypad', async () => {
    const { backend, user } = await renderApp({ accounts, callTiming: STILL });
    await user.click(await screen.findByTestId('echo-test-button'));
    expect(backend.calls.some((c) => c.command === 'echo_test')).toBe(true);
    expect(await screen.findByTestId('call-screen')).toBeTruthy();
    expect(text('call-remote')).toBe('Echo test');
    expect(text('call-account')).toBe('Built-in echo line');
  });

  it('takes the focus when it appears with nothing else focused', async () => {
    await renderApp({ accounts });
    await waitFor(() => expect(document.activeElement).toBe(input()));
  });
});
