import { screen, waitFor, within } from '@testing-library/svelte';
import { describe, expect, it } from 'vitest';
import type { CallStats } from '../lib/backend';
import { setLanguage } from '../lib/i18n.svelte';
import { account, callView } from '../lib/test-fixtures';
import { argsOf, renderApp, STILL, text } from './test-utils';

const office = account({ id: 'acc-office', display_name: 'Office', dial_prefix: '9', is_default: true });

const stats = (over: Partial<CallStats> = {}): CallStats => ({
  codec: 'opus/48000',
  packets_sent: 500,
  packets_received: 498,
  loss_pct: 0.5,
  jitter_ms: 3.2,
  rtt_ms: 41,
  playout_delay_ms: 40,
  mos: 4.3,
  srtp: true,
  ...over,
});

/** The app with one call on screen, driven by hand. */
async function withCall(over: Parameters<typeof callView>[0] = {}) {
  const app = await renderApp({ accounts: [office], callTiming: STILL });
  const call = callView({ account_id: 'acc-office', remote_name: 'Bob Example', ...over });
  app.backend.emitCall(call);
  await screen.findByTestId('call-screen');
  return { ...app, call };
}

describe('Call screen', () => {
  it('the echo test: Connected, a running timer, hang up, a short report and a history entry', async () => {
    const { user } = await renderApp({});
    await user.click(await screen.findByTestId('echo-test-button'));
    const screenEl = await screen.findByTestId('call-screen');
    await waitFor(() => expect(text('call-state')).toBe('Connected'));
    expect(screenEl.dataset.state).toBe('active');
    expect(text('call-timer')).toMatch(/^0:0\d$/);
    expect(screen.getByTestId('quality').dataset.quality).toBe('good');

    await user.click(screen.getByTestId('hangup-button'));
    const ended = await screen.findByTestId('call-ended');
    expect(ended.dataset.outcome).toBe('answered');
    expect(text('call-ended-title')).toBe('Call ended');
    expect(screen.queryByTestId('call-screen')).toBeNull();
    expect(document.activeElement).toBe(screen.getByTestId('call-ended-dismiss'));
    const entries = await screen.findAllByTestId('history-entry');
    expect(entries).toHaveLength(1);
    expect(entries[0].dataset.outcome).toBe('answered');
    expect(within(entries[0]).getByTestId('history-remote').textContent).toBe('Echo test');

    await user.click(screen.getByTestId('call-ended-dismiss'));
    // No account: back to the empty state, which still offers the echo test.
    expect(screen.getByTestId('empty-state').textContent).toContain('No account yet');
    expect(screen.getByTestId('echo-test-button')).toBeTruthy();
  });

  it('names each state plainly', async () => {
    const { backend, call } = await withCall({ state: 'dialing', answered_at: null });
    expect(text('call-state')).toBe('Calling…');
    expect(screen.queryByTestId('call-timer')).toBeNull();
    const steps: [Partial<typeof call>, string][] = [
      [{ state: 'ringing' }, 'Ringing…'],
      [{ state: 'connecting', answered_at: Date.now() }, 'Connecting…'],
      [{ state: 'active', answered_at: Date.now() }, 'Connected'],
      [{ state: 'active', answered_at: Date.now(), on_hold: true }, 'On hold'],
      [{ state: 'active', answered_at: Date.now(), remote_hold: true }, 'Held by the other side'],
      [{ state: 'ending', answered_at: Date.now() }, 'Hanging up…'],
    ];
    for (const [over, label] of steps) {
      backend.emitCall({ ...call, ...over });
      await waitFor(() => expect(text('call-state')).toBe(label));
      expect(screen.getByTestId('call-state').dataset.state).toBe(over.state);
    }
    expect(text('call-remote')).toBe('Bob Example');
    expect(text('call-account')).toBe('via Office');
  });

  it('counts the time from the answer', async () => {
    await withCall({ answered_at: Date.now() - 65_000 });
    expect(text('call-timer')).toMatch(/^1:0[56]$/);
  });

  it('mute and hold send the call id and the new value, and follow the events', async () => {
    const { backend, user, call } = await withCall();
    const mute = screen.getByTestId('mute-button');
    await user.click(mute);
    await waitFor(() => expect(mute.getAttribute('aria-pressed')).toBe('true'));
    expect(mute.textContent?.trim()).toBe('Unmute');
    await user.click(mute);
    await waitFor(() => expect(mute.getAttribute('aria-pressed')).toBe('false'));
    expect(argsOf(backend, 'mute_call')).toEqual([
      { id: call.id, on: true },
      { id: call.id, on: false },
    ]);

    const hold = screen.getByTestId('hold-button');
    await user.click(hold);
    await waitFor(() => expect(hold.textContent?.trim()).toBe('Resume'));
    expect(text('call-state')).toBe('On hold');
    await user.click(hold);
    await waitFor(() => expect(text('call-state')).toBe('Connected'));
    expect(argsOf(backend, 'hold_call')).toEqual([
      { id: call.id, on: true },
      { id: call.id, on: false },
    ]);
  });

  it('the keypad sends tones, one command per key, in order', async () => {
    const { backend, user, call } = await withCall();
    expect(screen.queryByTestId('dtmf-keypad')).toBeNull();
    await user.click(screen.getByTestId('dtmf-button'));
    expect(screen.getByTestId('dtmf-button').getAttribute('aria-expanded')).toBe('true');
    await user.click(screen.getByTestId('dtmf-1'));
    await user.click(screen.getByTestId('dtmf-hash'));
    screen.getByTestId('dtmf-5').focus();
    await user.keyboard('*0');
    await waitFor(() => expect(text('dtmf-sent')).toBe('Sent: 1#*0'));
    expect(argsOf(backend, 'send_dtmf')).toEqual([
      { id: call.id, digits: '1' },
      { id: call.id, digits: '#' },
      { id: call.id, digits: '*' },
      { id: call.id, digits: '0' },
    ]);
    expect(backend.dtmf[call.id]).toBe('1#*0');
  });

  it('shows quality with a plain word, the numbers behind it, and encryption', async () => {
    const { backend, call } = await withCall({ stats: stats() });
    const q = screen.getByTestId('quality');
    expect(q.dataset.quality).toBe('good');
    expect(text('quality-label')).toBe('Quality: Good');
    expect(text('quality-codec')).toBe('opus/48000');
    expect(text('quality-loss')).toBe('0.5 %');
    expect(text('quality-jitter')).toBe('3.2 ms');
    expect(text('quality-rtt')).toBe('41 ms');
    expect(text('quality-srtp')).toBe('Encrypted (SRTP)');
    backend.emitCall({ ...call, stats: stats({ mos: 3.7, rtt_ms: null, srtp: false }) });
    await waitFor(() => expect(q.dataset.quality).toBe('fair'));
    expect(text('quality-rtt')).toBe('unknown');
    expect(text('quality-srtp')).toBe('Not encrypted');
    backend.emitCall({ ...call, stats: stats({ mos: 2.9, loss_pct: 12 }) });
    await waitFor(() => expect(text('quality-label')).toBe('Quality: Poor'));
    backend.emitCall({ ...call, stats: stats({ mos: null }) });
    await waitFor(() => expect(q.dataset.quality).toBe('unknown'));
  });

  it('says how the audio travels, in words, when the call knows', async () => {
    const { backend, call } = await withCall({ stats: stats() });
    expect(screen.queryByTestId('call-route')).toBeNull();
    backend.emitCall({
      ...call,
      stats: stats(),
      media_route: 'relay-tls',
      media_route_text: 'Through relay 203.0.113.5 (TLS 443) because UDP is blocked on this network',
      relay: 'turns:203.0.113.5:443?transport=tcp',
    });
    const route = await screen.findByTestId('call-route');
    expect(route.dataset.route).toBe('relay-tls');
    expect(text('call-route')).toBe('Through relay 203.0.113.5 (TLS 443) because UDP is blocked on this network');
    expect(route.parentElement?.textContent?.replace(/\s+/g, ' ').trim()).toBe(
      'Audio path: Through relay 203.0.113.5 (TLS 443) because UDP is blocked on this network',
    );
  });

  it('says the route in Russian and Chinese from its parts, not in the English of the core', async () => {
    const { backend, call } = await withCall({ stats: stats() });
    const relayed = {
      ...call,
      stats: stats(),
      media_route: 'relay-tls',
      media_route_text: 'Through relay 203.0.113.5 (TLS 443) because UDP is blocked on this network',
      media_route_reason: 'udp_blocked',
      relay: 'turns:203.0.113.5:443?transport=tcp',
    };
    setLanguage('ru');
    backend.emitCall(relayed);
    await waitFor(() =>
      expect(text('call-route')).toBe('Через ретранслятор 203.0.113.5 (TLS 443), потому что в этой сети заблокирован UDP'),
    );
    setLanguage('zh-CN');
    await waitFor(() => expect(text('call-route')).toBe('经由中继 203.0.113.5（TLS 443），因为此网络屏蔽了 UDP'));
    backend.emitCall({ ...relayed, media_route: 'direct', media_route_text: 'Direct', media_route_reason: null, relay: null });
    await waitFor(() => expect(text('call-route')).toBe('直连'));
  });

  it('shows a media problem with its advice while it lasts', async () => {
    const { backend, call } = await withCall();
    expect(screen.queryByTestId('media-problem')).toBeNull();
    const problem = { code: 'no_audio_received', message: 'No sound arrives.', hint: 'Try TCP or TLS.' };
    backend.emitCall({ ...call, media_problem: problem });
    const banner = await screen.findByTestId('media-problem');
    expect(banner.textContent).toContain('No sound arrives.');
    expect(banner.textContent).toContain('Try TCP or TLS.');
    expect(banner.dataset.code).toBe('no_audio_received');
    backend.emitCall({ ...call, media_problem: null });
    await waitFor(() => expect(screen.queryByTestId('media-problem')).toBeNull());
  });

  it('level meters follow the readings; a muted microphone says so', async () => {
    const { backend, call } = await withCall();
    await waitFor(() => expect(backend.levelWatchers).toBe(1));
    backend.emitLevels({ input_dbfs: -20, output_dbfs: -33 });
    const input = screen.getByTestId('level-input') as HTMLMeterElement;
    const output = screen.getByTestId('level-output') as HTMLMeterElement;
    await waitFor(() => expect(input.dataset.dbfs).toBe('-20'));
    expect(input.value).toBe(-20);
    expect(output.value).toBe(-33);
    expect(output.getAttribute('aria-valuetext')).toBe('-33 dB');
    backend.emitCall({ ...call, muted: true });
    await waitFor(() => expect(input.getAttribute('aria-valuetext')).toBe('Muted'));
    expect(input.value).toBe(-60);
  });

  it('with two calls, lists the other and swaps by holding one and resuming the other', async () => {
    const { backend, user, call } = await withCall({ id: 'call-a' });
    backend.emitCall(callView({ id: 'call-b', remote: 'sip:carol@example.com', remote_name: 'Carol', on_hold: true }));
    const item = await screen.findByTestId('call-list-item');
    expect(item.dataset.callId).toBe('call-b');
    expect(item.textContent).toContain('Carol');
    expect(item.textContent).toContain('On hold');
    await user.click(within(item).getByTestId('call-swap'));
    expect(argsOf(backend, 'hold_call')).toEqual([
      { id: 'call-a', on: true },
      { id: 'call-b', on: false },
    ]);
    await waitFor(() => expect(screen.getByTestId('call-screen').dataset.callId).toBe('call-b'));
    expect(text('call-remote')).toBe('Carol');
    expect(within(screen.getByTestId('call-list-item')).getByText('On hold')).toBeTruthy();
    expect(call.id).toBe('call-a');
  });

  it('a busy number reports Busy with the hint, then the dialer comes back with the focus', async () => {
    const { user } = await renderApp({ accounts: [office] });
    await user.type(await screen.findByTestId('dial-input'), '0300busy{Enter}');
    const ended = await screen.findByTestId('call-ended');
    expect(ended.dataset.outcome).toBe('busy');
    expect(text('call-ended-title')).toBe('Busy');
    expect(ended.textContent).toContain('The other side is on another call. Try again later.');
    expect((await screen.findByTestId('history-entry')).dataset.outcome).toBe('busy');
    await user.click(screen.getByTestId('call-ended-dismiss'));
    expect(document.activeElement).toBe(screen.getByTestId('dial-input'));
  });

  it('shows a failed action on the call', async () => {
    const { backend, user } = await withCall();
    backend.fail('hangup_call', { code: 'internal', message: 'The phone did not answer.', hint: 'Try again.' });
    await user.click(screen.getByTestId('hangup-button'));
    expect((await screen.findByTestId('call-error')).textContent).toContain('The phone did not answer.');
    expect(screen.getByTestId('call-screen')).toBeTruthy();
  });

  it('on another tab, the header says a call is on and leads back to it', async () => {
    const { user } = await withCall();
    expect(screen.queryByTestId('call-indicator')).toBeNull();
    await user.click(screen.getByTestId('tab-settings'));
    const indicator = screen.getByTestId('call-indicator');
    expect(indicator.textContent).toContain('On a call with Bob Example');
    await user.click(indicator);
    expect(screen.getByTestId('tab-phone').getAttribute('aria-selected')).toBe('true');
    expect(screen.getByTestId('call-screen')).toBeTruthy();
  });
});
