import { render, screen, waitFor } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { MockBackend } from '../lib/mock-backend';
import HeadsetSection from './HeadsetSection.svelte';

describe('Settings → Headset', () => {
  it('shows the headset and its state, and saves each switch', async () => {
    const backend = new MockBackend();
    const user = userEvent.setup();
    render(HeadsetSection, { props: { backend } });
    const state = await screen.findByTestId('headset-state');
    expect(state.textContent).toContain('Connected');
    expect(state.textContent).toContain('Jabra EVOLVE LINK MS');
    const mute = screen.getByTestId('headset-mute_sync') as HTMLInputElement;
    expect(mute.checked).toBe(true);
    await user.click(mute);
    await waitFor(() => expect((screen.getByTestId('headset-mute_sync') as HTMLInputElement).checked).toBe(false));
    const saved = backend.calls.filter((c) => c.command === 'save_headset_settings');
    expect(saved).toHaveLength(1);
    expect(saved[0].args).toEqual({
      settings: {
        enabled: true,
        call_buttons: true,
        mute_sync: false,
        leds: true,
        ring_on_headset: true,
        device: null,
      },
    });
    expect((await backend.headset_status()).settings.mute_sync).toBe(false);
  });

  it('the master switch turns integration off and greys the others out', async () => {
    const backend = new MockBackend();
    const user = userEvent.setup();
    render(HeadsetSection, { props: { backend } });
    await user.click(await screen.findByTestId('headset-enabled'));
    await waitFor(() => expect(screen.getByTestId('headset-state').textContent).toContain('off'));
    expect((screen.getByTestId('headset-call_buttons') as HTMLInputElement).disabled).toBe(true);
    expect((await backend.headset_status()).settings.enabled).toBe(false);
  });

  it('shows a permission problem in plain words with the fix', async () => {
    const backend = new MockBackend({
      headset: {
        state: 'problem',
        device: 'Jabra EVOLVE LINK MS',
        audio_device: null,
        problem: {
          code: 'headset_permission',
          message: 'Homeline may not open the headset’s button device /dev/hidraw3.',
          hint: 'Add this line to /etc/udev/rules.d/70-homeline-headset.rules …',
        },
        settings: { enabled: true, call_buttons: true, mute_sync: true, leds: true, ring_on_headset: true, device: null },
      },
    });
    render(HeadsetSection, { props: { backend } });
    const note = await screen.findByRole('alert');
    expect(note.textContent).toContain('/dev/hidraw3');
    expect(note.getAttribute('data-code')).toBe('headset_permission');
  });
});
