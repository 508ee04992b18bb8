import { waitFor } from '@testing-library/svelte';
import { afterEach, describe, expect, it } from 'vitest';
import type { HistoryEntry } from './backend';
import { Calls, historyEntryOf } from './calls.svelte';
import { MockBackend, type MockOptions } from './mock-backend';
import { account, callView } from './test-fixtures';

const entry = (id: string, started_at: number): HistoryEntry => ({
  id,
  account_id: null,
  direction: 'outgoing',
  remote: `sip:${id}@example.com`,
  remote_name: null,
  started_at,
  answered_at: null,
  ended_at: started_at + 1,
  outcome: 'cancelled',
  reason: null,
});

/** Nothing moves on by itself: the tests send every state with emitCall. */
const still = { ringAfterMs: 1e6, answerAfterMs: 1e6, connectMs: 1e6, endMs: 1e6, missAfterMs: 1e6 };

let stops: (() => void)[] = [];
afterEach(() => {
  for (const s of stops) s();
  stops = [];
});

async function setup(options: MockOptions = {}) {
  const backend = new MockBackend({ callTiming: still, ...options });
  const calls = new Calls(backend);
  calls.endedShowMs = 40;
  stops.push(await calls.watch(), () => backend.dispose());
  return { backend, calls };
}

const commands = (b: MockBackend) => b.calls.map((c) => c.command);
const argsOf = (b: MockBackend, command: string) => b.calls.filter((c) => c.command === command).map((c) => c.args);

describe('Calls', () => {
  it('listens before it asks for the live calls, then loads history and watches levels', async () => {
    const live = callView({ id: 'call-7' });
    const { backend, calls } = await setup({ history: [entry('call-3', 30), entry('call-2', 20)] });
    expect(commands(backend)).toEqual(['onCallUpdate', 'list_calls', 'call_history', 'watch_levels']);
    expect(calls.history.map((h) => h.id)).toEqual(['call-3', 'call-2']);
    expect(calls.historyLoaded).toBe(true);
    backend.emitCall(live);
    expect(calls.list.map((c) => c.id)).toEqual(['call-7']);
  });

  it('shows a ringing incoming call as incoming, not on the call screen', async () => {
    const { backend, calls } = await setup();
    const bob = backend.simulateIncoming('sip:bob@example.com', { name: 'Bob' });
    expect(calls.incoming?.id).toBe(bob.id);
    expect(calls.incoming?.remote_name).toBe('Bob');
    expect(calls.current).toBeNull();
    await calls.answer(bob.id);
    expect(argsOf(backend, 'answer_call')).toEqual([{ id: bob.id }]);
    backend.emitCall(callView({ id: bob.id, direction: 'incoming', state: 'active' }));
    expect(calls.incoming).toBeNull();
    expect(calls.current?.id).toBe(bob.id);
  });

  it('answering a waiting call holds the connected one first', async () => {
    const { backend, calls } = await setup();
    backend.emitCall(callView({ id: 'call-a' }));
    backend.emitCall(
      callView({ id: 'call-b', direction: 'incoming', state: 'incoming', waiting: true, answered_at: null }),
    );
    expect(calls.incoming?.waiting).toBe(true);
    backend.calls.length = 0;
    await calls.answer('call-b');
    expect(backend.calls).toEqual([
      { command: 'hold_call', args: { id: 'call-a', on: true } },
      { command: 'answer_call', args: { id: 'call-b' } },
    ]);
    expect(calls.selectedId).toBe('call-b');
  });

  it('shows the call not on hold, or the one chosen, and swaps by holding one and resuming the other', async () => {
    const { backend, calls } = await setup();
    backend.emitCall(callView({ id: 'call-a', on_hold: true }));
    backend.emitCall(callView({ id: 'call-b' }));
    expect(calls.current?.id).toBe('call-b');
    expect(calls.others.map((c) => c.id)).toEqual(['call-a']);
    backend.calls.length = 0;
    await calls.swapTo('call-a');
    expect(backend.calls).toEqual([
      { command: 'hold_call', args: { id: 'call-b', on: true } },
      { command: 'hold_call', args: { id: 'call-a', on: false } },
    ]);
    expect(calls.current?.id).toBe('call-a');
  });

  it('sends mute and hold with the call id and the new value', async () => {
    const { backend, calls } = await setup();
    backend.emitCall(callView({ id: 'call-5' }));
    await calls.setMuted('call-5', true);
    await calls.setHeld('call-5', true);
    await calls.sendDtmf('call-5', '4');
    expect(argsOf(backend, 'mute_call')).toEqual([{ id: 'call-5', on: true }]);
    expect(argsOf(backend, 'hold_call')).toEqual([{ id: 'call-5', on: true }]);
    expect(argsOf(backend, 'send_dtmf')).toEqual([{ id: 'call-5', digits: '4' }]);
  });

  it('an ended call leaves the list, shows its outcome briefly and is in the history at once', async () => {
    const { backend, calls } = await setup({ history: [entry('call-old', 10)] });
    backend.emitCall(callView({ id: 'call-9', started_at: 500 }));
    const ended = callView({
      id: 'call-9',
      started_at: 500,
      state: 'ended',
      ended_at: 9_000,
      outcome: 'busy',
      end_reason: { code: 'busy', message: 'Busy', hint: 'Try later.' },
    });
    // The event alone, not the mock's own end(): the backend's history does not have it yet.
    backend.emitCall(ended);
    expect(calls.list).toEqual([]);
    expect(calls.ended?.outcome).toBe('busy');
    expect(calls.history.map((h) => h.id)).toEqual(['call-9', 'call-old']);
    expect(calls.history[0]).toMatchObject({ outcome: 'busy', reason: 'Busy' });
    await waitFor(() => expect(calls.ended).toBeNull());
    // Still there after the reload that followed the end.
    expect(calls.history.map((h) => h.id)).toEqual(['call-9', 'call-old']);
  });

  it('does not report how a call ended that the user rejected here', async () => {
    const { backend, calls } = await setup();
    const c = backend.simulateIncoming('sip:eve@example.com');
    await calls.reject(c.id);
    expect(calls.incoming).toBeNull();
    expect(calls.ended).toBeNull();
    expect(calls.history[0]).toMatchObject({ id: c.id, outcome: 'rejected' });
  });

  it('a dial answer that arrives after the events never brings the call back', async () => {
    const { backend, calls } = await setup();
    // The call fails at once: its ended event comes before dial's own (older) answer.
    await backend.onCallUpdate((c) => {
      if (c.state === 'connecting') backend.emitCall({ ...c, state: 'ended', outcome: 'failed', ended_at: Date.now() });
    });
    expect(await calls.echoTest()).toBe(true);
    expect(calls.list).toEqual([]);
    expect(calls.current).toBeNull();
    expect(calls.ended?.outcome).toBe('failed');
  });

  it('dials and selects the new call; a failed dial shows the reason', async () => {
    const { backend, calls } = await setup({
      accounts: [account({ dial_prefix: '9' })],
      registrationDelayMs: null,
    });
    expect(await calls.dial('90301234')).toBe(true);
    expect(argsOf(backend, 'dial')).toEqual([{ target: '90301234', account_id: null }]);
    expect(calls.current).toMatchObject({ state: 'dialing', remote: '0301234' });
    expect(calls.selectedId).toBe(calls.current?.id);

    expect(await calls.dial('what?')).toBe(false);
    expect(calls.error?.code).toBe('invalid_number');
    await calls.echoTest();
    expect(calls.error).toBeNull();
  });

  it('keeps level readings only while a call is connected', async () => {
    const { backend, calls } = await setup();
    backend.emitLevels({ input_dbfs: -20, output_dbfs: -30 });
    expect(calls.levels).toBeNull();
    backend.emitCall(callView({ id: 'call-1' }));
    backend.emitLevels({ input_dbfs: -20, output_dbfs: -30 });
    expect(calls.levels).toEqual({ input_dbfs: -20, output_dbfs: -30 });
    backend.emitCall(callView({ id: 'call-1', state: 'ended', outcome: 'answered', ended_at: 5_000 }));
    expect(calls.levels).toBeNull();
  });

  it('clears the history', async () => {
    const { backend, calls } = await setup({ history: [entry('call-1', 1)] });
    expect(await calls.clearHistory()).toBe(true);
    expect(calls.history).toEqual([]);
    expect(commands(backend)).toContain('clear_history');
    expect(await backend.call_history()).toEqual([]);
  });

  it('shows why history could not be loaded', async () => {
    const backend = new MockBackend();
    backend.fail('call_history', { code: 'io', message: 'History file unreadable.', hint: 'Clear it.' });
    const calls = new Calls(backend);
    stops.push(await calls.watch());
    expect(calls.historyError?.message).toBe('History file unreadable.');
    expect(calls.historyLoaded).toBe(true);
  });

  it('turns an ended call into a history entry', () => {
    expect(
      historyEntryOf(
        callView({
          state: 'ended',
          ended_at: 3_000,
          outcome: 'failed',
          end_reason: { code: 'not_found', message: 'Nobody there.', hint: '' },
        }),
      ),
    ).toEqual({
      id: 'call-1',
      account_id: null,
      direction: 'outgoing',
      remote: 'sip:bob@example.com',
      remote_name: null,
      started_at: 1_000,
      answered_at: 2_000,
      ended_at: 3_000,
      outcome: 'failed',
      reason: 'Nobody there.',
    });
  });
});
