import { screen, waitFor } from '@testing-library/svelte';
import { describe, expect, it } from 'vitest';
import { account, callView } from '../lib/test-fixtures';
import { argsOf, renderApp, STILL, text } from './test-utils';

const office = account({ id: 'acc-office', display_name: 'Office', is_default: true });

describe('Incoming call', () => {
  it('appears on a calls://update of an incoming call, with caller and account, and takes the focus', async () => {
    const { backend } = await renderApp({ accounts: [office], callTiming: STILL });
    expect(screen.queryByTestId('incoming-call')).toBeNull();
    backend.emitCall(
      callView({
        id: 'call-3',
        direction: 'incoming',
        state: 'incoming',
        remote: 'sip:bob@example.com',
        remote_name: 'Bob Example',
        account_id: 'acc-office',
        answered_at: null,
      }),
    );
    const card = await screen.findByTestId('incoming-call');
    expect(card.dataset.callId).toBe('call-3');
    expect(text('incoming-remote')).toBe('Bob Example');
    expect(card.textContent).toContain('sip:bob@example.com');
    expect(text('incoming-account')).toBe('To Office');
    expect(text('answer-button')).toBe('Answer');
    expect(text('reject-button')).toBe('Reject');
    await waitFor(() => expect(document.activeElement).toBe(screen.getByTestId('answer-button')));
    // Ringing here is not a call on the call screen yet.
    expect(screen.queryByTestId('call-screen')).toBeNull();
  });

  it('shows on any tab; Answer answers, opens the Phone tab and shows the call', async () => {
    const { backend, user } = await renderApp({ accounts: [office] }, 'settings');
    const call = backend.simulateIncoming('sip:bob@example.com', { name: 'Bob' });
    await user.click(await screen.findByTestId('answer-button'));
    expect(argsOf(backend, 'answer_call')).toEqual([{ id: call.id }]);
    expect(screen.getByTestId('tab-phone').getAttribute('aria-selected')).toBe('true');
    await waitFor(() => expect(text('call-state')).toBe('Connected'));
    expect(screen.queryByTestId('incoming-call')).toBeNull();
    expect(text('call-remote')).toBe('Bob');
  });

  it('Enter answers, since the focus is on Answer', async () => {
    const { backend, user } = await renderApp({ accounts: [office], callTiming: STILL });
    const call = backend.simulateIncoming('sip:bob@example.com');
    await waitFor(() => expect(document.activeElement).toBe(screen.getByTestId('answer-button')));
    await user.keyboard('{Enter}');
    expect(argsOf(backend, 'answer_call')).toEqual([{ id: call.id }]);
  });

  it('Reject rejects without a report, and the history says Rejected', async () => {
    const { backend, user } = await renderApp({ accounts: [office] });
    const call = backend.simulateIncoming('sip:eve@example.com');
    await user.click(await screen.findByTestId('reject-button'));
    expect(argsOf(backend, 'reject_call')).toEqual([{ id: call.id }]);
    await waitFor(() => expect(screen.queryByTestId('incoming-call')).toBeNull());
    expect(screen.queryByTestId('call-ended')).toBeNull();
    expect((await screen.findByTestId('history-entry')).dataset.outcome).toBe('rejected');
  });

  it('a waiting call offers to answer and hold the current one', async () => {
    const { backend, user } = await renderApp({ accounts: [office], callTiming: STILL });
    backend.emitCall(callView({ id: 'call-a', account_id: 'acc-office' }));
    await screen.findByTestId('call-screen');
    const waiting = backend.simulateIncoming('sip:carol@example.com', { name: 'Carol' });
    expect(waiting.waiting).toBe(true);
    const card = await screen.findByTestId('incoming-call');
    expect(card.dataset.waiting).toBe('true');
    expect(card.textContent).toContain('Call waiting');
    expect(text('answer-button')).toBe('Answer and hold current');
    expect(text('reject-button')).toBe('Reject');
    await user.click(screen.getByTestId('answer-button'));
    expect(backend.calls.filter((c) => c.command === 'hold_call' || c.command === 'answer_call')).toEqual([
      { command: 'hold_call', args: { id: 'call-a', on: true } },
      { command: 'answer_call', args: { id: waiting.id } },
    ]);
  });

  it('a call nobody answered is reported missed and marked in the history', async () => {
    const { backend } = await renderApp({ accounts: [office] });
    const call = backend.simulateIncoming('sip:bob@example.com', { name: 'Bob' });
    await screen.findByTestId('incoming-call');
    backend.simulateRemoteHangup(call.id);
    await waitFor(() => expect(screen.queryByTestId('incoming-call')).toBeNull());
    expect(screen.getByTestId('call-ended').dataset.outcome).toBe('missed');
    expect(text('call-ended-title')).toBe('Missed call');
    const entry = await screen.findByTestId('history-entry');
    expect(entry.dataset.outcome).toBe('missed');
    expect(entry.classList.contains('missed')).toBe(true);
    expect(entry.textContent).toContain('Missed');
  });

  it('shows a failed answer on the card', async () => {
    const { backend, user } = await renderApp({ accounts: [office], callTiming: STILL });
    backend.simulateIncoming('sip:bob@example.com');
    backend.fail('answer_call', { code: 'audio_unavailable', message: 'No microphone.', hint: 'Plug one in.' });
    await user.click(await screen.findByTestId('answer-button'));
    const err = await screen.findByTestId('incoming-error');
    expect(err.textContent).toContain('No microphone.');
    expect(screen.queryByTestId('dial-error')).toBeNull();
  });
});
