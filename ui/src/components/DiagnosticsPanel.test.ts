import { screen, waitFor, within } from '@testing-library/svelte';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Account, DiagRunRecord } from '../lib/backend';
import { simulatedChecks, simulatedReport } from '../lib/mock-diagnostics';
import { argsOf, renderApp, text } from './test-utils';

const alice: Account = {
  id: 'acc-1',
  display_name: 'Alice Example',
  sip_address: 'sip:alice@example.com',
  auth_user: '',
  registrar: 'sip:pbx.example.com',
  transport: 'auto',
  password_storage: 'keyring',
  dial_prefix: '',
  is_default: true,
};

const FAST_DIAG = { stepMs: 15, backgroundMs: 60 };

/**
 * jsdom has no canvas: a 2D context whose every method does nothing lets the real Chart.js build
 * its chart (whose data we assert on).
 */
function fakeContext(canvas: HTMLCanvasElement): CanvasRenderingContext2D {
  const store: Record<string | symbol, unknown> = { canvas };
  return new Proxy(store, {
    get(target, key) {
      if (key in target) return target[key];
      if (key === 'measureText') return () => ({ width: 8, actualBoundingBoxAscent: 8, actualBoundingBoxDescent: 2 });
      return () => {};
    },
    set(target, key, value) {
      target[key] = value;
      return true;
    },
  }) as unknown as CanvasRenderingContext2D;
}

beforeEach(() => {
  vi.spyOn(HTMLCanvasElement.prototype, 'getContext').mockImplementation(function (this: HTMLCanvasElement) {
    return fakeContext(this);
  } as never);
});
afterEach(() => {
  vi.unstubAllGlobals();
});

async function start(options: Parameters<typeof renderApp>[0] = {}) {
  return renderApp({ accounts: [alice], diagTiming: FAST_DIAG, ...options }, 'diagnostics');
}

describe('Diagnostics', () => {
  it('shows each check as it runs, the quick verdict, then the router timeout and the final verdict', async () => {
    const { backend, user } = await start();
    await user.click(screen.getByTestId('diag-start'));
    expect(screen.getByTestId<HTMLButtonElement>('diag-start').disabled).toBe(true);
    // At first every check is pending; then they turn into cards one by one.
    await screen.findByTestId('pending-quality');
    await screen.findByTestId('check-dns');
    expect(screen.queryByTestId('pending-quality')).not.toBeNull();
    expect(screen.queryByTestId('diag-verdict')).toBeNull();

    // The quick verdict: symmetric NAT, calls work with the relay; the timeout still runs.
    await screen.findByTestId('diag-measuring');
    expect(text('diag-verdict')).toContain('Calls will work with the relay');
    expect(screen.getByTestId('pending-nat_timeout').textContent).toContain('measuring');
    expect(screen.getByTestId('check-nat_type').dataset.status).toBe('warning');
    expect(text('check-nat_type-finding')).toContain('symmetric NAT');
    expect(text('check-nat_type-fix')).toContain('relay server');

    // The background result arrives: a 30 s router timeout is a problem.
    await waitFor(() => expect(screen.queryByTestId('diag-measuring')).toBeNull());
    expect(screen.getByTestId('diag-verdict').dataset.kind).toBe('fails');
    expect(text('diag-verdict')).toContain('Calls will fail');
    expect(screen.getByTestId('check-nat_timeout').dataset.status).toBe('problem');
    expect(text('check-nat_timeout-finding')).toContain('about 30 seconds');
    expect(screen.getByTestId<HTMLButtonElement>('diag-start').disabled).toBe(false);
    expect(argsOf(backend, 'run_diagnostics')).toEqual([{ account_id: 'acc-1', background: true }]);

    // Ok checks say nothing about a fix; the run is in the history.
    expect(screen.queryByTestId('check-dns-fix')).toBeNull();
    await waitFor(() => expect(screen.getAllByTestId('diag-run')).toHaveLength(1));
    expect(screen.getAllByTestId('diag-run')[0].textContent).toContain('Calls will fail');
  });

  it('plots RTT and jitter of the quality probe with Chart.js and names the loss burst', async () => {
    const { user } = await start();
    await user.click(screen.getByTestId('diag-background'));
    await user.click(screen.getByTestId('diag-start'));
    const card = await screen.findByTestId('check-quality');
    const plot = within(card).getByTestId('quality-plot');
    const canvas = plot.querySelector('canvas');
    expect(canvas).not.toBeNull();
    // Chart.js's own chart on that canvas, with the series it drew.
    const { Chart } = await import('chart.js');
    await waitFor(() => expect(Chart.getChart(canvas as HTMLCanvasElement)).toBeDefined());
    expect(within(card).queryByTestId('plot-failed')).toBeNull();
    const chart = Chart.getChart(canvas as HTMLCanvasElement);
    const labels = chart?.data.datasets.map((d) => d.label);
    expect(labels).toEqual(['RTT (ms)', 'Jitter (ms)', 'Lost packet', 'Loss burst']);
    const lost = chart?.data.datasets[2].data as { x: number; y: number | null }[];
    expect(lost.filter((p) => p.y !== null).map((p) => p.x)).toEqual([1.22, 2.8, 2.82, 2.84, 2.86, 4.02]);
    expect(within(card).getByTestId('loss-bursts').textContent).toContain('4 packets at 2.80–2.86 s');
    expect(text('check-quality-details')).toContain('loss_pct');
    // The packet list is for the plot, not for the details list.
    expect(text('check-quality-details')).not.toContain('samples');
  });

  it('without the background measurement the router timeout is reported as not measured', async () => {
    const { backend, user } = await start();
    await user.click(screen.getByTestId('diag-background'));
    await user.click(screen.getByTestId('diag-start'));
    await waitFor(() => expect(screen.getByTestId<HTMLButtonElement>('diag-start').disabled).toBe(false));
    expect(argsOf(backend, 'run_diagnostics')).toEqual([{ account_id: 'acc-1', background: false }]);
    expect(screen.getByTestId('check-nat_timeout').dataset.status).toBe('skipped');
    expect(text('check-nat_timeout-finding')).toContain('not measured');
    expect(text('diag-verdict')).toContain('Calls will work with the relay');
  });

  it('a Fix button applies that check’s fix, says what changed, and Undo puts it back', async () => {
    const { backend, user } = await start();
    await user.click(screen.getByTestId('diag-start'));
    await waitFor(() => expect(screen.queryByTestId('check-nat_timeout')).not.toBeNull(), { timeout: 3000 });
    expect(screen.queryByTestId('fix-dns')).toBeNull();
    await user.click(screen.getByTestId('fix-nat_timeout'));
    expect(await screen.findByTestId('diag-applied')).toBeTruthy();
    expect(text('diag-applied')).toContain('keep-alive every 20 s (was 25 s)');
    expect(text('diag-applied')).not.toContain('relay');
    const [args] = argsOf(backend, 'apply_diag_fixes') as { record: DiagRunRecord; check: string }[];
    expect(args.check).toBe('nat_timeout');
    expect(args.record.account_id).toBe('acc-1');

    await user.click(screen.getByTestId('diag-undo'));
    expect(await screen.findByTestId('diag-undone')).toBeTruthy();
    expect(text('diag-undone')).toContain('keep-alive every 20 s');
    expect(screen.queryByTestId('diag-applied')).toBeNull();
    expect(argsOf(backend, 'undo_diag_fixes')).toHaveLength(1);
  });

  it('"Fix everything" applies every safe fix once the quick verdict is in', async () => {
    const { backend, user } = await start({ diagTiming: { stepMs: 5, backgroundMs: 1e6 } });
    await user.click(screen.getByTestId('diag-start'));
    await screen.findByTestId('diag-measuring');
    await user.click(screen.getByTestId('diag-fix-all'));
    await screen.findByTestId('diag-applied');
    expect(text('diag-applied')).toContain('force_relay = true');
    const [args] = argsOf(backend, 'apply_diag_fixes') as { check: string | null }[];
    expect(args.check).toBeNull();
  });

  it('exports the report and says where it went', async () => {
    const { backend, user } = await start();
    await user.click(screen.getByTestId('diag-background'));
    await user.click(screen.getByTestId('diag-start'));
    await waitFor(() => expect(screen.getByTestId<HTMLButtonElement>('diag-start').disabled).toBe(false));
    await user.click(screen.getByTestId('diag-export'));
    expect(await screen.findByTestId('diag-exported')).toBeTruthy();
    expect(text('diag-exported')).toContain('homeline-diagnostics.txt');
    expect(text('diag-exported')).toContain('homeline-diagnostics.json');
    const [args] = argsOf(backend, 'export_diag_report') as { record: DiagRunRecord }[];
    expect(args.record.report.checks.map((c) => c.id)).toContain('quality');
  });

  it('a test that cannot run says why in plain words and can be started again', async () => {
    const { backend, user } = await start();
    backend.fail('run_diagnostics', {
      code: 'diagnose_failed',
      message: 'The connectivity test could not run: there is no account "x".',
      hint: 'Check the account in Settings, then try again.',
    });
    await user.click(screen.getByTestId('diag-start'));
    expect((await screen.findByTestId('diag-error')).textContent).toContain('could not run');
    expect(screen.getByTestId<HTMLButtonElement>('diag-start').disabled).toBe(false);
    expect(screen.queryByTestId('diag-verdict')).toBeNull();
  });

  it('shows an earlier run from the history, without Fix buttons', async () => {
    const earlier: DiagRunRecord = {
      finished_at: '2026-12-01T09:30:00Z',
      account_id: 'acc-1',
      report: simulatedReport(simulatedChecks('all_ok'), 5400),
    };
    const { user } = await start({ diagHistory: [earlier] });
    const runs = await screen.findAllByTestId('diag-run');
    expect(runs).toHaveLength(1);
    expect(screen.queryByTestId('empty-state')).toBeNull();
    await user.click(within(runs[0]).getByRole('button', { name: 'Show' }));
    expect(text('diag-verdict')).toContain('Calls will work');
    expect(text('diag-verdict')).toContain('Earlier run');
    expect(screen.queryByTestId('diag-fix-all')).toBeNull();
    expect(screen.queryByTestId('fix-nat_type')).toBeNull();
    expect(screen.getByTestId('check-nat_type').dataset.status).toBe('ok');
  });
});
