import { render, screen, waitFor } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import App from '../App.svelte';
import { MockBackend, type MockOptions } from '../lib/mock-backend';

async function start(options: MockOptions = {}) {
  const backend = new MockBackend({ version: '0.1.0', ...options });
  const user = userEvent.setup();
  render(App, { props: { backend } });
  return { backend, user };
}

describe('Settings → General', () => {
  it('switches autostart and quit-on-close, and says what changed', async () => {
    const { backend, user } = await start();
    await user.click(screen.getByTestId('tab-settings'));
    const autostart = await screen.findByTestId<HTMLInputElement>('autostart-switch');
    await waitFor(() => expect(autostart.disabled).toBe(false));
    expect(autostart.checked).toBe(false);
    await user.click(autostart);
    await waitFor(() => expect(screen.getByTestId('general-saved').textContent).toContain('start when you log in'));
    expect(await backend.autostart_enabled()).toBe(true);
    expect(backend.calls).toContainEqual({ command: 'set_autostart', args: { on: true } });

    const quit = screen.getByTestId<HTMLInputElement>('quit-on-close-switch');
    expect(quit.checked).toBe(false);
    await user.click(quit);
    await waitFor(() => expect(screen.getByTestId('general-saved').textContent).toContain('quits Homeline'));
    expect((await backend.desktop_settings()).quit_on_close).toBe(true);
  });

  it('shows a failure in plain words and keeps the switch as it was', async () => {
    const { backend, user } = await start();
    backend.fail('set_autostart', {
      code: 'autostart_failed',
      message: 'Homeline could not change whether it starts when you log in.',
      hint: 'Check that your autostart folder can be written.',
    });
    await user.click(screen.getByTestId('tab-settings'));
    const autostart = await screen.findByTestId<HTMLInputElement>('autostart-switch');
    await waitFor(() => expect(autostart.disabled).toBe(false));
    await user.click(autostart);
    const note = await screen.findByTestId('general-error');
    expect(note.textContent).toContain('could not change');
    await waitFor(() => expect(autostart.checked).toBe(false));
  });
});

describe('links', () => {
  it('the link Homeline was started with fills the dialer without calling', async () => {
    const { backend } = await start({ startLink: '+15550100199' });
    const field = await screen.findByTestId<HTMLInputElement>('dial-input');
    await waitFor(() => expect(field.value).toBe('+15550100199'));
    expect(backend.calls.some((c) => c.command === 'dial')).toBe(false);
  });

  it('a link opened later brings the Phone tab forward with it in the dialer', async () => {
    const { backend, user } = await start();
    await user.click(screen.getByTestId('tab-settings'));
    await waitFor(() => expect(backend.calls.some((c) => c.command === 'onLink')).toBe(true));
    backend.simulateLink('sip:bob@example.com');
    const field = await screen.findByTestId<HTMLInputElement>('dial-input');
    await waitFor(() => expect(field.value).toBe('sip:bob@example.com'));
    expect(screen.getByTestId('tab-phone').getAttribute('aria-selected')).toBe('true');
    expect(backend.calls.some((c) => c.command === 'dial')).toBe(false);
  });
});
