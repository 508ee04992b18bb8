import { describe, expect, it } from 'vitest';
import {
  callStateText,
  endedTitle,
  formatDuration,
  formatWhen,
  outcomeLabel,
  previewText,
  qualityOf,
  remoteLabel,
} from './labels';
import { callView } from './test-fixtures';

describe('call labels', () => {
  it('formats durations as m:ss or h:mm:ss', () => {
    expect(formatDuration(0)).toBe('0:00');
    expect(formatDuration(7_900)).toBe('0:07');
    expect(formatDuration(754_000)).toBe('12:34');
    expect(formatDuration(3_723_000)).toBe('1:02:03');
    expect(formatDuration(-5_000)).toBe('0:00');
  });

  it('says when a call was, relative to today, in local time', () => {
    const now = new Date(2025, 2, 12, 15, 0).getTime(); // Wed 12 Mar 2025
    expect(formatWhen(new Date(2025, 2, 12, 9, 5).getTime(), now)).toBe('09:05');
    expect(formatWhen(new Date(2025, 2, 11, 23, 59).getTime(), now)).toBe('Yesterday 23:59');
    expect(formatWhen(new Date(2025, 2, 8, 14, 0).getTime(), now)).toBe('Sat 14:00');
    expect(formatWhen(new Date(2024, 11, 24, 18, 30).getTime(), now)).toBe('24 Dec 2024 18:30');
  });

  it('previews a dial in words', () => {
    expect(previewText({ account_id: 'a', account_name: 'Office', uri: '0301234', rule: 'prefix 9 → Office' })).toBe(
      'Calls 0301234 from Office (prefix 9)',
    );
    expect(previewText({ account_id: 'a', account_name: 'Office', uri: '0301234', rule: null })).toBe(
      'Calls 0301234 from Office',
    );
    expect(previewText({ account_id: null, account_name: 'Direct call', uri: 'sip:bob@h', rule: null })).toBe(
      'Direct call to sip:bob@h',
    );
    expect(previewText({ account_id: null, account_name: 'Echo test', uri: 'echo', rule: null })).toBe('Echo test');
  });

  it('names quality by MOS: good, fair, poor, or not yet', () => {
    const s = (mos: number | null) => ({
      codec: null,
      packets_sent: 0,
      packets_received: 0,
      loss_pct: 0,
      jitter_ms: 0,
      rtt_ms: null,
      playout_delay_ms: 0,
      mos,
      srtp: false,
    });
    expect(qualityOf(s(4.4)).kind).toBe('good');
    expect(qualityOf(s(4.0)).kind).toBe('good');
    expect(qualityOf(s(3.8)).kind).toBe('fair');
    expect(qualityOf(s(3.1)).kind).toBe('poor');
    expect(qualityOf(s(null)).kind).toBe('unknown');
    expect(qualityOf(null).label).toBe('No audio yet');
  });

  it('words states, outcomes and who is on the line', () => {
    expect(callStateText(callView({ state: 'incoming', waiting: true }))).toBe('Waiting call');
    expect(callStateText(callView({ state: 'active', on_hold: true, remote_hold: true }))).toBe('On hold');
    expect(outcomeLabel('rejected', 'outgoing')).toBe('Declined');
    expect(outcomeLabel('rejected', 'incoming')).toBe('Rejected');
    expect(endedTitle(callView({ state: 'ended', outcome: 'failed' }))).toBe('Call failed');
    expect(remoteLabel(callView({ remote: 'echo', account_id: null }))).toBe('Echo test');
    expect(remoteLabel(callView({ remote: 'sip:x@y', remote_name: 'X' }))).toBe('X');
    expect(remoteLabel(callView({ remote: 'sip:x@y' }))).toBe('sip:x@y');
  });
});
