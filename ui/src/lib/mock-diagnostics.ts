// The mock backend's connectivity test: a realistic run of a home network behind a symmetric
// NAT whose router forgets idle connections after 30 s, with the findings, fixes and figures
// that crates/diag would give there. Used by the demo and by the component tests.
import type { AppliedFix, DiagCheck, DiagReport, DiagStatus, QualitySample, SafeFix, VerdictKind } from './backend';

/** Which network the simulated run finds. */
export type DiagScenario = 'symmetric_nat' | 'all_ok';

export interface DiagTiming {
  /** Time between two checks finishing. */
  stepMs: number;
  /** Time the background NAT timeout measurement takes after the quick verdict. */
  backgroundMs: number;
}

export const DEFAULT_DIAG_TIMING: DiagTiming = { stepMs: 400, backgroundMs: 3000 };

/** A small deterministic PRNG (mulberry32), so every demo run and test sees the same packets. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * 250 packets 20 ms apart: ~38 ms RTT with a few spikes, and (in the symmetric NAT scenario)
 * one burst of 4 lost packets and two single losses.
 */
export function simulatedSamples(scenario: DiagScenario): QualitySample[] {
  const rnd = prng(scenario === 'all_ok' ? 7 : 42);
  const lost = scenario === 'all_ok' ? new Set<number>() : new Set([61, 140, 141, 142, 143, 201]);
  const out: QualitySample[] = [];
  for (let seq = 0; seq < 250; seq++) {
    const spike = rnd() < 0.04 ? 25 + rnd() * 30 : 0;
    const rtt = 34 + rnd() * 8 + spike;
    out.push({ seq, sent_ms: seq * 20, rtt_ms: lost.has(seq) ? null : Math.round(rtt * 10) / 10 });
  }
  return out;
}

function qualityCheck(scenario: DiagScenario): DiagCheck {
  const samples = simulatedSamples(scenario);
  const rtts = samples.flatMap((s) => (s.rtt_ms === null ? [] : [s.rtt_ms]));
  const rtt = rtts.reduce((a, b) => a + b, 0) / rtts.length;
  let jsum = 0;
  for (let i = 1; i < rtts.length; i++) jsum += Math.abs(rtts[i] - rtts[i - 1]);
  const jitter = jsum / (rtts.length - 1);
  const loss = ((samples.length - rtts.length) / samples.length) * 100;
  const r1 = (v: number) => Math.round(v * 10) / 10;
  const lossy = loss > 1;
  return {
    id: 'quality',
    status: lossy ? 'warning' : 'ok',
    finding: lossy
      ? `Expected call quality is fair (4.0 out of 5). Because ${r1(loss)} % of the sound is lost, so you may hear small gaps.`
      : 'Expected call quality is good (4.4 out of 5).',
    fix: lossy ? 'Move closer to your Wi-Fi router or use a network cable.' : null,
    details: {
      path: 'to the STUN server stun.example.net (demo)',
      sent: samples.length,
      received: rtts.length,
      rtt_ms: r1(rtt),
      jitter_ms: r1(jitter),
      loss_pct: r1(loss),
      max_burst: lossy ? 4 : 0,
      bursts: lossy ? [{ first_seq: 140, len: 4 }] : [],
      reordered: 0,
      mos: lossy ? 4.02 : 4.39,
      samples,
    },
  };
}

function check(
  id: DiagCheck['id'],
  status: DiagStatus,
  finding: string,
  fix: string | null = null,
  details: Record<string, unknown> = {},
  safe_fixes: SafeFix[] = [],
): DiagCheck {
  return { id, status, finding, fix, details, safe_fixes };
}

/** The checks of the quick round, in the order they finish. */
export function simulatedChecks(scenario: DiagScenario): DiagCheck[] {
  const symmetric = scenario === 'symmetric_nat';
  return [
    check('dns', 'ok', 'The names of your provider and of the test servers were found.', null, {
      sip: 'pbx.example.com → 192.0.2.10 (demo)',
    }),
    check('udp', 'ok', 'Voice packets (UDP) leave your network and come back.', null, {
      servers: ['stun.example.net:3478'],
    }),
    check(
      'sip_ports',
      'ok',
      'Your provider answers on UDP 5060, TCP 5060 and TLS 5061.',
      null,
      { working: ['udp:5060', 'tcp:5060', 'tls:5061'], blocked: [] },
    ),
    symmetric
      ? check(
          'nat_type',
          'warning',
          'Your router changes the port for every new destination (symmetric NAT). Calls need the relay server for their voice.',
          'Let Homeline send your voice through the relay server.',
          { mapping: 'address-and-port-dependent', filtering: 'address-and-port-dependent', public: '198.51.100.7' },
          [{ kind: 'force_relay' }],
        )
      : check('nat_type', 'ok', 'Your router lets calls through directly.', null, {
          mapping: 'endpoint-independent',
          filtering: 'address-dependent',
          public: '198.51.100.7',
        }),
    check('sip_alg', 'ok', 'Nothing on the way changes your phone signalling.', null, { detected: false }),
    check('route', 'ok', 'Your calls and the tests take the same way out of your network.'),
    check('rtp', 'ok', 'Voice can flow in both directions.'),
    check('relays', 'skipped', 'No relay server is configured, so none was tested.'),
    qualityCheck(scenario),
    check('audio', 'ok', 'Your microphone picks up sound and your speaker opens.'),
  ];
}

/** The background measurement's result. */
export function simulatedTimeout(scenario: DiagScenario): DiagCheck {
  if (scenario === 'all_ok') {
    return check('nat_timeout', 'ok', 'Your router keeps an idle line open for at least 2 minutes.', null, {
      binding_lifetime_s: 120,
      recommended_keepalive_s: 60,
    });
  }
  return check(
    'nat_timeout',
    'problem',
    'Your router forgets an idle connection after about 30 seconds, so incoming calls would stop reaching you after a few minutes.',
    'Let Homeline send a keep-alive every 20 seconds.',
    { binding_lifetime_s: 30, recommended_keepalive_s: 20 },
    [{ kind: 'keep_alive', secs: 20 }],
  );
}

const ORDER: DiagCheck['id'][] = [
  'dns',
  'udp',
  'sip_ports',
  'nat_type',
  'sip_alg',
  'nat_timeout',
  'route',
  'rtp',
  'relays',
  'quality',
  'audio',
];

/** The report of these checks, with the verdict crates/diag would give. */
export function simulatedReport(checks: DiagCheck[], duration_ms: number): DiagReport {
  const sorted = [...checks].sort((a, b) => ORDER.indexOf(a.id) - ORDER.indexOf(b.id));
  const problem = sorted.find((c) => c.status === 'problem');
  const relay = sorted.some((c) => c.id === 'nat_type' && c.status === 'warning');
  let verdict_kind: VerdictKind = 'works';
  let verdict = 'Calls will work';
  if (problem) {
    verdict_kind = 'fails';
    verdict =
      problem.id === 'nat_timeout'
        ? 'Calls will fail: incoming calls stop reaching you after a few minutes'
        : 'Calls will fail';
  } else if (relay) {
    verdict_kind = 'works_with_relay';
    verdict = 'Calls will work with the relay';
  }
  return { verdict, verdict_kind, duration_ms, checks: sorted, fixes_applied: [] };
}

/** What applying `fix` says it changed, as crates/phone/src/diag/fixes.rs words it. */
export function describeApplied(check: DiagCheck['id'], fix: SafeFix): AppliedFix {
  switch (fix.kind) {
    case 'keep_alive':
      return { check, fix, description: `keep-alive every ${fix.secs} s (was 25 s)` };
    case 'force_relay':
      return { check, fix, description: 'voice always goes through the relay (force_relay = true)' };
    case 'transport':
      return {
        check,
        fix,
        description: `account "Demo" reaches sip:pbx.example.com:${fix.port} over ${fix.transport.toUpperCase()} (was sip:pbx.example.com over Auto)`,
      };
  }
}

/** The safe fixes of the problem and warning checks, one per setting (Report::safe_fixes). */
export function safeFixes(report: DiagReport): AppliedFix[] {
  const out: AppliedFix[] = [];
  for (const c of report.checks) {
    if (c.status !== 'problem' && c.status !== 'warning') continue;
    for (const f of c.safe_fixes ?? []) {
      if (!out.some((o) => o.fix.kind === f.kind)) out.push(describeApplied(c.id, f));
    }
  }
  return out;
}
