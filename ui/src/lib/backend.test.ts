import { describe, expect, it } from 'vitest';
import { isUiError, toUiError } from './backend';

describe('toUiError', () => {
  it('keeps a UiError as it is, without extra fields', () => {
    const err = { code: 'keyring_unavailable', message: 'No keyring.', hint: 'Install one.', extra: 1 };
    expect(toUiError(err)).toEqual({ code: 'keyring_unavailable', message: 'No keyring.', hint: 'Install one.' });
  });

  it('wraps a string rejection (Tauri IPC errors arrive as strings)', () => {
    const e = toUiError('command save_acount not found');
    expect(e.code).toBe('unexpected');
    expect(e.message).toBe('command save_acount not found');
    expect(e.hint).toMatch(/export the logs/);
  });

  it('wraps an Error', () => {
    expect(toUiError(new TypeError('x is undefined')).message).toBe('x is undefined');
  });

  it('fills the gaps of a partial error object', () => {
    expect(toUiError({ code: 'io', message: 'Disk full' })).toMatchObject({ code: 'io', message: 'Disk full' });
    expect(toUiError({ code: 'io', message: 'Disk full' }).hint).not.toBe('');
  });

  it('never returns an empty message', () => {
    for (const v of [undefined, null, '', 42, {}, new Error('')]) {
      const e = toUiError(v);
      expect(isUiError(e)).toBe(true);
      expect(e.message.length).toBeGreaterThan(0);
    }
  });
});
