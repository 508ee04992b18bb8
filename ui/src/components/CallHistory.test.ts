import { screen, waitFor, within } from '@testing-library/svelte';
import { describe, expect, it } from 'vitest';
import type { HistoryEntry } from '../lib/backend';
import { account, callView } from '../lib/test-fixtures';
import { argsOf, renderApp, STILL, text } from './test-utils';

const office = account({ id: 'acc-office', display_name: 'Office', is_default: true });
const now = Date.now();
const h = (over: Partial<HistoryEntry> & Pick<HistoryEntry, 'id' | 'started_at'>): HistoryEntry => ({
  account_id: 'acc-office',
  direction: 'outgoing',
  remote: `sip:${over.id}@example.com`,
  remote_name: null,
  answered_at: null,
  ended_at: over.started_at + 10_000,
  outcome: 'cancelled',
  reason: null,
  ...over,
});

const history: HistoryEntry[] = [
  h({ id: 'call-4', started_at: now - 60_000, direction: 'incoming', remote_name: 'Bob', outcome: 'missed' }),
  h({ id: 'call-3', started_at: now - 3_600_000, answered_at: now - 3_595_000, outcome: 'answered' }),
  h({ id: 'call-2', started_at: now - 7_200_000, outcome: 'busy', reason: 'Busy' }),
  h({ id: 'call-1', started_at: now - 9e6, outcome: 'failed', reason: 'Nobody can be reached.', account_id: null }),
];
// call-3 lasted 4:12.
history[1].ended_at = history[1].answered_at! + 252_000;

const entries = () => screen.getAllByTestId('history-entry');

describe('Call history', () => {
  it('lists calls newest first with direction, remote, time and duration or outcome', async () => {
    await renderApp({ accounts: [office], history: [...history].reverse() });
    await waitFor(() => expect(entries()).toHaveLength(4));
    expect(entries().map((e) => e.dataset.callId)).toEqual(['call-4', 'call-3', 'call-2', 'call-1']);
    const [missed, answered, busy, failed] = entries();
    expect(missed.dataset.outcome).toBe('missed');
    expect(missed.dataset.direction).toBe('incoming');
    expect(missed.classList.contains('missed')).toBe(true);
    expect(missed.textContent).toContain('Missed call:');
    expect(within(missed).getByTestId('history-result').textContent?.trim()).toBe('Missed');
    expect(within(missed).getByTestId('history-remote').textContent).toBe('Bob');
    expect(within(answered).getByTestId('history-result').textContent?.trim()).toBe('4:12');
    expect(answered.textContent).toContain('Outgoing call:');
    expect(answered.textContent).toContain('via Office');
    expect(within(busy).getByTestId('history-result').textContent?.trim()).toBe('Busy');
    expect(within(failed).getByTestId('history-result').textContent).toContain('Nobody can be reached.');
    const time = missed.querySelector('time');
    expect(time?.getAttribute('datetime')).toBe(new Date(now - 60_000).toISOString());
    expect(time?.textContent).toMatch(/\d\d:\d\d/);
  });

  it('calls back from the entry, with its account; the echo line by the echo test', async () => {
    const echo = h({ id: 'call-9', started_at: now, remote: 'echo', remote_name: 'Echo test', account_id: null });
    const { backend, user } = await renderApp({ accounts: [office], history: [echo, ...history], callTiming: STILL });
    await waitFor(() => expect(entries()).toHaveLength(5));
    await user.click(within(entries()[2]).getByTestId('history-callback'));
    expect(argsOf(backend, 'dial')).toEqual([{ target: 'sip:call-3@example.com', account_id: 'acc-office' }]);
    expect(await screen.findByTestId('call-screen')).toBeTruthy();
    // While on a call, calling back waits.
    expect(
      screen.getAllByTestId('history-callback').every((b) => (b as HTMLButtonElement).disabled),
    ).toBe(true);
    await user.click(screen.getByTestId('hangup-button'));
    await waitFor(() => expect(screen.queryByTestId('call-screen')).toBeNull());
    const echoEntry = screen.getAllByTestId('history-entry').find((e) => e.dataset.callId === 'call-9');
    await user.click(within(echoEntry as HTMLElement).getByTestId('history-callback'));
    expect(backend.calls.filter((c) => c.command === 'echo_test')).toHaveLength(1);
  });

  it('a call back for an account removed since lets the dial rules choose', async () => {
    const gone = h({ id: 'call-7', started_at: now, account_id: 'acc-gone', remote: '0301234' });
    const { backend, user } = await renderApp({ accounts: [office], history: [gone], callTiming: STILL });
    await user.click(await screen.findByTestId('history-callback'));
    expect(argsOf(backend, 'dial')).toEqual([{ target: '0301234', account_id: null }]);
  });

  it('clears the history after a confirmation', async () => {
    const { backend, user } = await renderApp({ accounts: [office], history });
    await waitFor(() => expect(entries()).toHaveLength(4));
    await user.click(screen.getByTestId('clear-history'));
    expect(screen.getByText('Remove all 4 calls from the history?')).toBeTruthy();
    await user.click(screen.getByTestId('clear-history-cancel'));
    expect(entries()).toHaveLength(4);
    expect(backend.calls.some((c) => c.command === 'clear_history')).toBe(false);

    await user.click(screen.getByTestId('clear-history'));
    await user.click(screen.getByTestId('clear-history-confirm'));
    await waitFor(() => expect(screen.queryAllByTestId('history-entry')).toHaveLength(0));
    expect(text('history-empty')).toBe('No calls yet.');
    expect(backend.calls.some((c) => c.command === 'clear_history')).toBe(true);
    expect((screen.getByTestId('clear-history') as HTMLButtonElement).disabled).toBe(true);
  });

  it('says so when there are no calls, or when the history cannot be read', async () => {
    await renderApp({});
    expect(text('history-empty')).toBe('No calls yet.');
  });

  it('shows a history that could not be read', async () => {
    const { render } = await import('@testing-library/svelte');
    const { MockBackend } = await import('../lib/mock-backend');
    const App = (await import('../App.svelte')).default;
    const backend = new MockBackend();
    backend.fail('call_history', { code: 'io', message: 'The history file is damaged.', hint: 'Clear the history.' });
    render(App, { props: { backend } });
    expect((await screen.findByTestId('history-error')).textContent).toContain('The history file is damaged.');
  });

  it('a call that just ended is at the top at once', async () => {
    const { backend } = await renderApp({ accounts: [office], history, callTiming: STILL });
    await waitFor(() => expect(entries()).toHaveLength(4));
    const live = callView({ id: 'call-new', started_at: Date.now(), account_id: 'acc-office' });
    backend.emitCall(live);
    backend.emitCall({ ...live, state: 'ended', outcome: 'answered', ended_at: Date.now() + 5_000 });
    await waitFor(() => expect(entries()[0].dataset.callId).toBe('call-new'));
    expect(entries()).toHaveLength(5);
  });
});
