import { describe, expect, it } from 'vitest';
import { demoOptions } from './demo-options';

describe('demoOptions', () => {
  it('is empty without parameters', () => {
    expect(demoOptions('')).toEqual({});
  });

  it('sets up the states a person may want to look at', () => {
    const o = demoOptions('?keyring=off&config-problem&audio=error');
    expect(o.keyring?.available).toBe(false);
    expect(o.config_problem?.code).toBe('config_invalid');
    expect(o.audio?.error?.code).toBe('audio_unavailable');
    expect(demoOptions('?audio=none').audio).toMatchObject({ inputs: [], outputs: [], error: null });
  });
});
