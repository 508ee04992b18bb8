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

  it('starts with demo accounts, past calls and an incoming call on request', () => {
    const o = demoOptions('?accounts=demo&history&incoming', 1_000_000_000_000);
    expect(o.accounts?.map((a) => [a.display_name, a.dial_prefix, a.is_default])).toEqual([
      ['Office', '9', true],
      ['Home', '8', false],
    ]);
    const history = o.history ?? [];
    expect(history.length).toBeGreaterThan(2);
    const starts = history.map((h) => h.started_at);
    expect([...starts].sort((a, b) => b - a)).toEqual(starts);
    expect(history.some((h) => h.outcome === 'missed')).toBe(true);
    expect(o.incomingAfterMs).toBe(5000);
    expect(demoOptions('?incoming=2').incomingAfterMs).toBe(2000);
    expect(demoOptions('?incoming=soon').incomingAfterMs).toBe(5000);
  });

  it('starts with contacts in three scripts on request', () => {
    const names = demoOptions('?contacts').contacts?.map((c) => c.name) ?? [];
    expect(names).toContain('Иван Петров');
    expect(names).toContain('王小明');
    expect(demoOptions('').contacts).toBeUndefined();
  });
});
