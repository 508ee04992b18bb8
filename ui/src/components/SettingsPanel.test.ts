import { render, screen, waitFor, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import App from '../App.svelte';
import { MockBackend, type MockOptions } from '../lib/mock-backend';

async function openSettings(options: MockOptions = {}, prepare?: (b: MockBackend) => void) {
  const backend = new MockBackend({ version: '0.1.0', ...options });
  prepare?.(backend);
  const user = userEvent.setup();
  render(App, { props: { backend } });
  await user.click(screen.getByTestId('tab-settings'));
  return { backend, user };
}

describe('Settings → Audio', () => {
  it('lists inputs and outputs and marks the defaults', async () => {
    await openSettings({
      audio: {
        host: 'ALSA',
        inputs: [{ name: 'USB headset mic', is_default: true, channels: 1, sample_rates: [16000, 48000] }],
        outputs: [
          { name: 'Speakers', is_default: false, channels: 2, sample_rates: [44100] },
          { name: 'USB headset', is_default: true, channels: 2, sample_rates: [48000] },
        ],
        error: null,
      },
    });
    const inputs = await screen.findByTestId('audio-inputs');
    expect(inputs.textContent).toContain('USB headset mic');
    expect(inputs.textContent).toContain('default');
    expect(inputs.textContent).toContain('16 kHz / 48 kHz');
    const outputs = screen.getByTestId('audio-outputs').querySelectorAll('li');
    expect(outputs[0].textContent).not.toContain('default');
    expect(outputs[0].textContent).toContain('44.1 kHz');
    expect(outputs[1].textContent).toContain('default');
    expect(screen.getByText(/Audio system: ALSA/)).toBeTruthy();
  });

  it('says honestly when there are no devices', async () => {
    await openSettings({ audio: { host: 'ALSA', inputs: [], outputs: [], error: null } });
    const note = await screen.findByTestId('audio-error');
    expect(note.textContent).toContain('No audio devices found');
    expect(screen.queryByTestId('audio-inputs')).toBeNull();
  });

  it("shows the audio system's error with its hint", async () => {
    await openSettings({
      audio: {
        host: 'ALSA',
        inputs: [],
        outputs: [],
        error: { code: 'audio_unavailable', message: 'ALSA has no sound card.', hint: 'Plug in a headset.' },
      },
    });
    const note = await screen.findByTestId('audio-error');
    expect(note.textContent).toContain('ALSA has no sound card.');
    expect(note.textContent).toContain('Plug in a headset.');
  });

  it('shows a failed call and can retry', async () => {
    const { user } = await openSettings({}, (b) =>
      b.fail('audio_devices', { code: 'internal', message: 'Audio thread died.', hint: 'Restart Homeline.' }),
    );
    expect((await screen.findByTestId('audio-error')).textContent).toContain('Audio thread died.');
    await user.click(screen.getByTestId('audio-refresh'));
    expect(await screen.findByTestId('audio-inputs')).toBeTruthy();
    expect(screen.queryByTestId('audio-error')).toBeNull();
  });
});

describe('Settings → Audio devices for calls', () => {
  const select = (role: string) => screen.getByTestId(`audio-${role}`) as HTMLSelectElement;

  it('offers System default and each device per role, showing what is stored', async () => {
    await openSettings({ audioSettings: { microphone: 'Demo headset microphone', speaker: null, ring: null } });
    await waitFor(() => expect(select('microphone').value).toBe('Demo headset microphone'));
    expect([...select('microphone').options].map((o) => o.textContent)).toEqual([
      'System default (now Demo microphone)',
      'Demo microphone',
      'Demo headset microphone',
    ]);
    expect([...select('speaker').options].map((o) => o.value)).toEqual(['', 'Demo speakers', 'Demo headset']);
    expect(select('speaker').value).toBe('');
    expect(select('ring').value).toBe('');
    expect(screen.getByLabelText('Ringing on')).toBe(select('ring'));
  });

  it('saves a choice at once, with null for System default', async () => {
    const { backend, user } = await openSettings();
    await waitFor(() => expect(select('speaker').options.length).toBe(3));
    await user.selectOptions(select('speaker'), 'Demo headset');
    await waitFor(() => expect(screen.getByTestId('audio-settings-status').textContent).toContain('Saved'));
    await user.selectOptions(select('ring'), 'Demo speakers');
    await user.selectOptions(select('speaker'), '');
    await waitFor(() => expect(backend.calls.filter((c) => c.command === 'save_audio_settings')).toHaveLength(3));
    expect(backend.calls.filter((c) => c.command === 'save_audio_settings').map((c) => c.args)).toEqual([
      { settings: { microphone: null, speaker: 'Demo headset', ring: null } },
      { settings: { microphone: null, speaker: 'Demo headset', ring: 'Demo speakers' } },
      { settings: { microphone: null, speaker: null, ring: 'Demo speakers' } },
    ]);
    expect(await backend.audio_settings()).toEqual({ microphone: null, speaker: null, ring: 'Demo speakers' });
  });

  it('keeps a stored device that is not plugged in, and says so', async () => {
    await openSettings({ audioSettings: { microphone: null, speaker: 'USB headset', ring: null } });
    await waitFor(() => expect(select('speaker').value).toBe('USB headset'));
    expect(select('speaker').selectedOptions[0].textContent).toBe('USB headset (not connected)');
  });

  it('shows a failed save and goes back to what is stored', async () => {
    const { backend, user } = await openSettings();
    await waitFor(() => expect(select('microphone').options.length).toBe(3));
    backend.fail('save_audio_settings', { code: 'io', message: 'Settings not saved.', hint: 'Disk full?' });
    await user.selectOptions(select('microphone'), 'Demo headset microphone');
    expect((await screen.findByTestId('audio-settings-error')).textContent).toContain('Settings not saved.');
    expect(select('microphone').value).toBe('');
  });
});

describe('Settings → Audio → Test', () => {
  it('plays the tone, shows both meters and says the microphone heard it', async () => {
    const { backend, user } = await openSettings();
    await user.click(await screen.findByTestId('audio-test'));
    expect((await screen.findByTestId('audio-test-result')).textContent).toContain('picked up sound');
    expect(screen.getByTestId('audio-test-output').getAttribute('data-dbfs')).toBe('-13');
    expect(screen.getByTestId('audio-test-input').getAttribute('data-dbfs')).not.toBe('');
    expect(backend.calls.some((c) => c.command === 'audio_test')).toBe(true);
    expect((screen.getByTestId('audio-test') as HTMLButtonElement).disabled).toBe(false);
  });

  it('shows why the test could not run', async () => {
    const { backend, user } = await openSettings();
    backend.fail('audio_test', { code: 'audio_device', message: 'The speaker could not be opened.', hint: 'Plug it in.' });
    await user.click(await screen.findByTestId('audio-test'));
    expect((await screen.findByTestId('audio-test-error')).textContent).toContain('could not be opened');
  });
});

describe('Settings → Logs', () => {
  it('opens the log folder', async () => {
    const { backend, user } = await openSettings();
    await user.click(screen.getByTestId('open-log-folder'));
    expect(backend.calls.map((c) => c.command)).toContain('open_log_folder');
    expect(screen.queryByTestId('logs-error')).toBeNull();
  });

  it('exports the logs and shows the path', async () => {
    const { user } = await openSettings();
    await user.click(screen.getByTestId('export-logs'));
    const result = await screen.findByTestId('export-logs-result');
    expect(result.textContent).toContain('Logs saved to');
    expect(result.textContent).toContain('homeline-logs');
  });

  it('shows why opening the folder failed', async () => {
    const { user } = await openSettings({}, (b) =>
      b.fail('open_log_folder', {
        code: 'no_file_manager',
        message: 'No file manager is installed.',
        hint: 'Open the folder shown above yourself.',
      }),
    );
    await user.click(screen.getByTestId('open-log-folder'));
    expect((await screen.findByTestId('logs-error')).textContent).toContain('Open the folder shown above yourself.');
  });
});

describe('Settings → About', () => {
  it('shows the version and the config path', async () => {
    await openSettings();
    const about = screen.getByRole('heading', { name: 'About' }).closest('section') as HTMLElement;
    expect((await within(about).findByTestId('app-version')).textContent).toBe('0.1.0');
    expect(within(about).getByTestId('config-path').textContent).not.toBe('');
  });
});
