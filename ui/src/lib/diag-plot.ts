// The quality probe's packets as the series of the Diagnostics plot (column format:
// one x array, then one array per series, null where a series has no point).
import type { QualitySample } from './backend';

export interface QualityPlotData {
  /** Seconds since the probe started, per packet. */
  t: number[];
  /** Round-trip time, ms (null = lost). */
  rtt: (number | null)[];
  /**
   * Jitter, ms: how much this packet's round trip differs from the previous answered one
   * (the per-packet term of crates/diag's mean jitter).
   */
  jitter: (number | null)[];
  /** A marker at `lostAt` for every lost packet, else null. */
  lost: (number | null)[];
  /** The height the loss markers are drawn at (just above the highest round trip). */
  lostAt: number;
  /** Runs of two or more consecutive lost packets: first and last seconds. */
  bursts: { from: number; to: number; packets: number }[];
}

/** Reads the samples from a `quality` check's details; [] when there are none. */
export function qualitySamples(details: Record<string, unknown>): QualitySample[] {
  const raw = details.samples;
  if (!Array.isArray(raw)) return [];
  return raw.filter(
    (s): s is QualitySample =>
      typeof s === 'object' &&
      s !== null &&
      typeof (s as QualitySample).seq === 'number' &&
      typeof (s as QualitySample).sent_ms === 'number' &&
      ((s as QualitySample).rtt_ms === null || typeof (s as QualitySample).rtt_ms === 'number'),
  );
}

export function qualityPlotData(samples: QualitySample[]): QualityPlotData {
  const sorted = [...samples].sort((a, b) => a.seq - b.seq);
  const highest = Math.max(0, ...sorted.map((s) => s.rtt_ms ?? 0));
  const lostAt = Math.ceil(highest * 1.1) || 10;
  const t: number[] = [];
  const rtt: (number | null)[] = [];
  const jitter: (number | null)[] = [];
  const lost: (number | null)[] = [];
  const bursts: QualityPlotData['bursts'] = [];
  let previous: number | null = null;
  let run: QualitySample[] = [];
  const closeRun = () => {
    if (run.length >= 2) {
      bursts.push({ from: run[0].sent_ms / 1000, to: run[run.length - 1].sent_ms / 1000, packets: run.length });
    }
    run = [];
  };
  for (const s of sorted) {
    t.push(s.sent_ms / 1000);
    rtt.push(s.rtt_ms);
    if (s.rtt_ms === null) {
      jitter.push(null);
      lost.push(lostAt);
      run.push(s);
    } else {
      jitter.push(previous === null ? null : Math.round(Math.abs(s.rtt_ms - previous) * 10) / 10);
      previous = s.rtt_ms;
      lost.push(null);
      closeRun();
    }
  }
  closeRun();
  return { t, rtt, jitter, lost, lostAt, bursts };
}
