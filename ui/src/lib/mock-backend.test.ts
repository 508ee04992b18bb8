import { waitFor } from '@testing-library/svelte';
import { describe, expect, it } from 'vitest';
import type { Account, AccountInput, CallView, LevelReading } from './backend';
import { MockBackend } from './mock-backend';

const input = (over: Partial<AccountInput> = {}): AccountInput => ({
  id: null,
  display_name: 'Alice Example',
  sip_address: 'sip:alice@example.com',
  auth_user: '',
  registrar: '',
  transport: 'auto',
  password: null,
  dial_prefix: '',
  is_default: false,
  ...over,
});

describe('MockBackend', () => {
  it('adds, edits and removes accounts', async () => {
    const b = new MockBackend();
    const a = await b.save_account(input({ password: 'pw' }));
    expect(a.password_storage).toBe('keyring');
    const edited = await b.save_account(input({ id: a.id, display_name: 'Alice B.' }));
    expect(edited).toMatchObject({ id: a.id, display_name: 'Alice B.', password_storage: 'keyring' });
    expect(await b.list_accounts()).toHaveLength(1);
    await b.remove_account(a.id);
    expect(await b.list_accounts()).toEqual([]);
  });

  it('keeps passwords for the session only without a keyring, and "" removes one', async () => {
    const b = new MockBackend({ keyring: { available: false, backend: 'session only', message: 'No keyring.' } });
    const a = await b.save_account(input({ password: 'pw' }));
    expect(a.password_storage).toBe('session');
    expect((await b.save_account(input({ id: a.id, password: '' }))).password_storage).toBe('none');
  });

  it('rejects invalid accounts with invalid_account and a hint naming the field', async () => {
    const b = new MockBackend();
    await expect(b.save_account(input({ display_name: ' ' }))).rejects.toMatchObject({
      code: 'invalid_account',
      hint: expect.stringContaining('display name'),
    });
    await expect(b.save_account(input({ sip_address: 'alice' }))).rejects.toMatchObject({
      hint: expect.stringContaining('SIP address'),
    });
    await expect(b.save_account(input({ registrar: 'pbx example' }))).rejects.toMatchObject({
      hint: expect.stringContaining('registrar'),
    });
  });

  it('fails a command once on request and records calls', async () => {
    const b = new MockBackend();
    b.fail('export_logs', { code: 'io', message: 'Disk full.', hint: 'Free some space.' });
    await expect(b.export_logs()).rejects.toMatchObject({ code: 'io' });
    await expect(b.export_logs()).resolves.toEqual(expect.any(String));
    expect(b.calls.map((c) => c.command)).toEqual(['export_logs', 'export_logs']);
  });

  it('hands out copies, not its own state', async () => {
    const b = new MockBackend();
    const info = await b.app_info();
    info.version = 'changed';
    expect((await b.app_info()).version).not.toBe('changed');
  });
});

const account = (over: Partial<Account>): Account => ({
  id: 'acc-1',
  display_name: 'Office',
  sip_address: 'sip:alice@pbx.example.com',
  auth_user: '',
  registrar: 'sip:pbx.example.com',
  transport: 'udp',
  password_storage: 'keyring',
  dial_prefix: '',
  is_default: false,
  ...over,
});

const office = account({ id: 'acc-office', dial_prefix: '9' });
const home = account({
  id: 'acc-home',
  display_name: 'Home',
  sip_address: 'sip:alice@voip.example.net',
  registrar: 'sip:voip.example.net',
  dial_prefix: '8',
  is_default: true,
});

const fast = {
  ringAfterMs: 5,
  answerAfterMs: 5,
  connectMs: 5,
  endMs: 5,
  statsEveryMs: 10,
  levelsEveryMs: 5,
  missAfterMs: 60_000,
};

/** Every state a call went through, in order, from the calls://update events. */
async function follow(b: MockBackend) {
  const seen: CallView[] = [];
  await b.onCallUpdate((c) => seen.push(c));
  return {
    seen,
    states: (id: string) => seen.filter((c) => c.id === id).map((c) => c.state).filter((s, i, a) => a[i - 1] !== s),
    last: (id: string) => [...seen].reverse().find((c) => c.id === id),
  };
}

describe('MockBackend dial rules', () => {
  const b = new MockBackend({ accounts: [office, home], registrationDelayMs: null });

  it('strips a matching prefix and calls from that account', async () => {
    await expect(b.dial_preview('90301234')).resolves.toEqual({
      account_id: 'acc-office',
      account_name: 'Office',
      uri: '0301234',
      rule: 'prefix 9 → Office',
    });
    expect((await b.dial_preview('8 030-1234')).uri).toBe('0301234');
  });

  it('sends a number without a prefix to the default account', async () => {
    await expect(b.dial_preview('0301234')).resolves.toEqual({
      account_id: 'acc-home',
      account_name: 'Home',
      uri: '0301234',
      rule: null,
    });
  });

  it('falls back to the first account with a registrar when none is the default', async () => {
    const direct = account({ id: 'acc-direct', registrar: '' });
    const plain = new MockBackend({ accounts: [direct, office], registrationDelayMs: null });
    expect((await plain.dial_preview('0301234')).account_id).toBe('acc-office');
  });

  it('calls a SIP address of a foreign host directly, one of an account domain through it', async () => {
    await expect(b.dial_preview('sip:bob@example.org')).resolves.toEqual({
      account_id: null,
      account_name: 'Direct call',
      uri: 'sip:bob@example.org',
      rule: null,
    });
    expect((await b.dial_preview('bob@voip.example.net')).account_id).toBe('acc-home');
    expect((await b.dial_preview('sip:bob@pbx.example.com:5060')).account_id).toBe('acc-office');
  });

  it('knows the echo line and refuses what cannot be called', async () => {
    expect(await b.dial_preview('echo')).toMatchObject({ account_id: null, account_name: 'Echo test' });
    await expect(b.dial_preview('  ')).rejects.toMatchObject({ code: 'invalid_number' });
    await expect(b.dial_preview('hello world')).rejects.toMatchObject({ code: 'invalid_number' });
    expect((await b.dial_preview('alice')).uri).toBe('alice');
    await expect(new MockBackend().dial_preview('0301234')).rejects.toMatchObject({
      code: 'invalid_number',
      hint: expect.stringContaining('Settings'),
    });
  });

  it('validates dial prefixes and keeps one default account', async () => {
    const m = new MockBackend({ accounts: [office, home], registrationDelayMs: null });
    await expect(m.save_account(input({ dial_prefix: '9a' }))).rejects.toMatchObject({
      code: 'invalid_account',
      hint: 'Check the dial prefix field.',
    });
    await expect(m.save_account(input({ dial_prefix: '9' }))).rejects.toMatchObject({
      message: expect.stringContaining('Office already uses the dial prefix 9'),
    });
    const saved = await m.save_account(input({ dial_prefix: '*7#', is_default: true }));
    expect(saved).toMatchObject({ dial_prefix: '*7#', is_default: true });
    expect((await m.list_accounts()).filter((a) => a.is_default).map((a) => a.id)).toEqual([saved.id]);
  });
});

describe('MockBackend calls', () => {
  it('dials: dialing → ringing → connecting → active, with stats; hang-up ends it into the history', async () => {
    const b = new MockBackend({ accounts: [office], registrationDelayMs: null, callTiming: fast });
    const f = await follow(b);
    const call = await b.dial('90301234', null);
    expect(call).toMatchObject({
      state: 'dialing',
      direction: 'outgoing',
      remote: '0301234',
      account_id: 'acc-office',
    });
    // Stats tick on: at least two updates carry growing packet counts.
    await waitFor(() => expect(f.seen.filter((c) => c.id === call.id && c.stats).length).toBeGreaterThan(2));
    const sent = f.seen.filter((c) => c.id === call.id && c.stats).map((c) => c.stats?.packets_sent ?? 0);
    expect(sent.at(-1)).toBeGreaterThan(sent[0]);
    expect(f.states(call.id)).toEqual(['dialing', 'ringing', 'connecting', 'active']);
    expect(f.last(call.id)?.answered_at).toEqual(expect.any(Number));
    expect(await b.list_calls()).toHaveLength(1);

    await b.hangup_call(call.id);
    await waitFor(() => expect(f.last(call.id)?.state).toBe('ended'));
    expect(f.states(call.id).slice(-2)).toEqual(['ending', 'ended']);
    expect(f.last(call.id)?.outcome).toBe('answered');
    expect(await b.list_calls()).toEqual([]);
    const [entry] = await b.call_history();
    expect(entry).toMatchObject({ id: call.id, outcome: 'answered', remote: '0301234', direction: 'outgoing' });
    b.dispose();
  });

  it('the echo test connects without any account', async () => {
    const b = new MockBackend({ callTiming: fast });
    const f = await follow(b);
    const call = await b.echo_test();
    expect(call).toMatchObject({ account_id: null, remote_name: 'Echo test', state: 'connecting' });
    await waitFor(() => expect(f.last(call.id)?.state).toBe('active'));
    expect(f.last(call.id)?.stats?.mos).toBeGreaterThan(4);
    b.dispose();
  });

  it('a busy number ends busy with a reason; a cancelled call is cancelled', async () => {
    const b = new MockBackend({ accounts: [office], registrationDelayMs: null, callTiming: fast });
    const f = await follow(b);
    const busy = await b.dial('0300busy', null);
    await waitFor(() => expect(f.last(busy.id)?.state).toBe('ended'));
    expect(f.last(busy.id)).toMatchObject({ outcome: 'busy', end_reason: { message: 'Busy' } });

    const slow = new MockBackend({
      accounts: [office],
      registrationDelayMs: null,
      callTiming: { ...fast, answerAfterMs: 60_000 },
    });
    const g = await follow(slow);
    const c = await slow.dial('0301234', null);
    await slow.hangup_call(c.id);
    expect(g.last(c.id)).toMatchObject({ state: 'ended', outcome: 'cancelled' });
    expect((await slow.call_history())[0].outcome).toBe('cancelled');
    slow.dispose();
  });

  it('an incoming call can be answered, waits while another is connected, and is missed if ignored', async () => {
    const b = new MockBackend({ callTiming: { ...fast, missAfterMs: 30 } });
    const f = await follow(b);
    const first = b.simulateIncoming('sip:bob@example.com', { name: 'Bob' });
    expect(f.last(first.id)).toMatchObject({
      state: 'incoming',
      direction: 'incoming',
      waiting: false,
      remote_name: 'Bob',
    });
    await b.answer_call(first.id);
    await waitFor(() => expect(f.last(first.id)?.state).toBe('active'));

    const second = b.simulateIncoming('sip:carol@example.com');
    expect(second.waiting).toBe(true);
    // Waiting only while another call is connected: it stops when that one ends.
    const third0 = b.simulateIncoming('sip:zed@example.com');
    expect(third0.waiting).toBe(true);
    await b.hangup_call(first.id);
    await waitFor(() => expect(f.last(third0.id)?.waiting).toBe(false));
    await b.reject_call(third0.id);
    await waitFor(() => expect(f.last(second.id)?.state).toBe('ended'));
    expect(f.last(second.id)?.outcome).toBe('missed');

    const third = b.simulateIncoming('sip:dave@example.com');
    await b.reject_call(third.id);
    expect(f.last(third.id)?.outcome).toBe('rejected');
    expect((await b.call_history()).map((h) => h.outcome)).toEqual(['rejected', 'missed', 'answered', 'rejected']);
    b.dispose();
  });

  it('holds, mutes and sends tones, each as an update', async () => {
    const b = new MockBackend({ callTiming: fast });
    const f = await follow(b);
    const call = await b.echo_test();
    await waitFor(() => expect(f.last(call.id)?.state).toBe('active'));
    await b.mute_call(call.id, true);
    expect(f.last(call.id)?.muted).toBe(true);
    await b.hold_call(call.id, true);
    expect(f.last(call.id)?.on_hold).toBe(true);
    await b.hold_call(call.id, false);
    expect(f.last(call.id)?.on_hold).toBe(false);
    await b.send_dtmf(call.id, '12#');
    await b.send_dtmf(call.id, '*');
    expect(b.dtmf[call.id]).toBe('12#*');
    await expect(b.send_dtmf(call.id, 'x')).rejects.toMatchObject({ code: 'invalid_dtmf' });
    await expect(b.hangup_call('call-99')).rejects.toMatchObject({ code: 'call_not_found' });
    b.dispose();
  });

  it('streams levels while a call has audio, and stops for a stopped watcher', async () => {
    const b = new MockBackend({ callTiming: fast });
    const got: LevelReading[] = [];
    const stop = await b.watch_levels((r) => got.push(r));
    const call = await b.echo_test();
    await waitFor(() => expect(got.length).toBeGreaterThan(3));
    for (const r of got) {
      expect(r.input_dbfs).toBeGreaterThanOrEqual(-100);
      expect(r.input_dbfs).toBeLessThanOrEqual(0);
    }
    await b.mute_call(call.id, true);
    const n = got.length;
    await waitFor(() => expect(got.length).toBeGreaterThan(n + 2));
    expect(got.at(-1)?.input_dbfs).toBe(-100);
    stop();
    expect(b.levelWatchers).toBe(0);
    const m = got.length;
    await new Promise((r) => setTimeout(r, 30));
    expect(got.length).toBe(m);
    b.dispose();
  });

  it('clears the history and stores audio settings', async () => {
    const b = new MockBackend({
      history: [
        {
          id: 'call-h',
          account_id: null,
          direction: 'outgoing',
          remote: 'echo',
          remote_name: 'Echo test',
          started_at: 1,
          answered_at: 2,
          ended_at: 3,
          outcome: 'answered',
          reason: null,
        },
      ],
    });
    expect(await b.call_history()).toHaveLength(1);
    await b.clear_history();
    expect(await b.call_history()).toEqual([]);
    expect(await b.audio_settings()).toEqual({ microphone: null, speaker: null, ring: null });
    const saved = await b.save_audio_settings({
      microphone: 'Demo headset microphone',
      speaker: null,
      ring: 'Demo speakers',
    });
    expect(saved.microphone).toBe('Demo headset microphone');
    expect(await b.audio_settings()).toEqual(saved);
  });
});
