import type { MockOptions } from './mock-backend';

/**
 * Demo mode only: `?keyring=off`, `?config-problem`, `?audio=none` or `?audio=error` in the
 * address start the mock in that state, so every screen can be looked at in a browser.
 */
export function demoOptions(search: string): MockOptions {
  const q = new URLSearchParams(search);
  const options: MockOptions = {};
  if (q.get('keyring') === 'off') {
    options.keyring = {
      available: false,
      backend: 'session only',
      message: 'No system keyring was found (demo); passwords are kept for this session only.',
    };
  }
  if (q.has('config-problem')) {
    options.config_problem = {
      code: 'config_invalid',
      message: 'The configuration file has an error on line 7 (demo).',
      hint: 'Homeline started with default settings and kept the broken file beside it as config.toml.broken.',
    };
  }
  const audio = q.get('audio');
  if (audio === 'none' || audio === 'error') {
    options.audio = {
      host: 'Demo',
      inputs: [],
      outputs: [],
      error:
        audio === 'error'
          ? {
              code: 'audio_unavailable',
              message: 'The audio system could not be asked for its devices (demo).',
              hint: 'Check that a sound server is running, then press Refresh.',
            }
          : null,
    };
  }
  return options;
}
