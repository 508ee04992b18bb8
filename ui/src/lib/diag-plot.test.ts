import { describe, expect, it } from 'vitest';
import { qualityPlotData, qualitySamples } from './diag-plot';

describe('the quality plot’s series', () => {
  it('gives RTT, per-packet jitter, loss markers and the bursts', () => {
    const d = qualityPlotData([
      { seq: 0, sent_ms: 0, rtt_ms: 30 },
      { seq: 1, sent_ms: 20, rtt_ms: 36 },
      { seq: 2, sent_ms: 40, rtt_ms: null },
      { seq: 3, sent_ms: 60, rtt_ms: null },
      { seq: 4, sent_ms: 80, rtt_ms: null },
      { seq: 5, sent_ms: 100, rtt_ms: 31 },
      { seq: 6, sent_ms: 120, rtt_ms: null },
      { seq: 7, sent_ms: 140, rtt_ms: 40 },
    ]);
    expect(d.t).toEqual([0, 0.02, 0.04, 0.06, 0.08, 0.1, 0.12, 0.14]);
    expect(d.rtt).toEqual([30, 36, null, null, null, 31, null, 40]);
    // Jitter compares with the previous *answered* packet: 31 against 36, 40 against 31.
    expect(d.jitter).toEqual([null, 6, null, null, null, 5, null, 9]);
    expect(d.lostAt).toBe(44);
    expect(d.lost).toEqual([null, null, 44, 44, 44, null, 44, null]);
    // A single lost packet is not a burst.
    expect(d.bursts).toEqual([{ from: 0.04, to: 0.08, packets: 3 }]);
  });

  it('a burst at the very end is closed too, and order comes from seq', () => {
    const d = qualityPlotData([
      { seq: 2, sent_ms: 40, rtt_ms: null },
      { seq: 0, sent_ms: 0, rtt_ms: 20 },
      { seq: 1, sent_ms: 20, rtt_ms: null },
    ]);
    expect(d.t).toEqual([0, 0.02, 0.04]);
    expect(d.bursts).toEqual([{ from: 0.02, to: 0.04, packets: 2 }]);
  });

  it('reads only well-formed samples from the details', () => {
    expect(qualitySamples({})).toEqual([]);
    expect(qualitySamples({ samples: 'no' })).toEqual([]);
    expect(
      qualitySamples({ samples: [{ seq: 0, sent_ms: 0, rtt_ms: 5 }, { seq: 'x' }, null, { seq: 1, sent_ms: 20, rtt_ms: null }] }),
    ).toEqual([
      { seq: 0, sent_ms: 0, rtt_ms: 5 },
      { seq: 1, sent_ms: 20, rtt_ms: null },
    ]);
  });
});
