import { beforeEach, describe, expect, it, vi } from 'vitest';

const invoke = vi.fn();
vi.mock('@tauri-apps/api/core', () => ({ invoke: (...args: unknown[]) => invoke(...args), Channel: class {} }));
const listen = vi.fn();
vi.mock('@tauri-apps/api/event', () => ({ listen: (...args: unknown[]) => listen(...args) }));

const { TauriBackend } = await import('./tauri-backend');
import { DIAG_EVENT, type DiagEvent, type DiagRunRecord } from './backend';
import { simulatedChecks, simulatedReport } from './mock-diagnostics';

const record: DiagRunRecord = {
  finished_at: '2026-12-04T17:00:00Z',
  account_id: 'acc-1',
  report: simulatedReport(simulatedChecks('symmetric_nat'), 6100),
};

describe('TauriBackend: the connectivity test', () => {
  beforeEach(() => {
    invoke.mockReset();
    listen.mockReset();
  });

  it('listens to diag://progress before it runs the test, and stops listening after', async () => {
    const order: string[] = [];
    const unlisten = vi.fn(() => order.push('unlisten'));
    let deliver: ((e: { payload: DiagEvent }) => void) | null = null;
    listen.mockImplementation(async (name: string, handler: (e: { payload: DiagEvent }) => void) => {
      order.push(`listen ${name}`);
      deliver = handler;
      return unlisten;
    });
    invoke.mockImplementation(async (command: string) => {
      order.push(command);
      deliver?.({ payload: { kind: 'check', check: record.report.checks[0] } });
      return record;
    });
    const seen: DiagEvent[] = [];
    const result = await new TauriBackend().run_diagnostics('acc-1', true, (e) => seen.push(e));
    expect(result).toEqual(record);
    expect(order).toEqual([`listen ${DIAG_EVENT}`, 'run_diagnostics', 'unlisten']);
    expect(invoke).toHaveBeenCalledWith('run_diagnostics', { account_id: 'acc-1', background: true });
    expect(seen).toEqual([{ kind: 'check', check: record.report.checks[0] }]);
  });

  it('stops listening when the test fails, and rejects with the UiError', async () => {
    const unlisten = vi.fn();
    listen.mockResolvedValue(unlisten);
    invoke.mockRejectedValue({ code: 'diagnose_failed', message: 'The connectivity test could not run.', hint: 'h' });
    await expect(new TauriBackend().run_diagnostics(null, false, () => {})).rejects.toMatchObject({
      code: 'diagnose_failed',
    });
    expect(unlisten).toHaveBeenCalledOnce();
  });

  it('calls the fix, undo, export and history commands with the contract’s arguments', async () => {
    invoke.mockResolvedValue([]);
    const b = new TauriBackend();
    await b.apply_diag_fixes(record, 'nat_type');
    await b.apply_diag_fixes(record, null);
    await b.undo_diag_fixes();
    await b.export_diag_report(record);
    await b.diag_history();
    expect(invoke.mock.calls).toEqual([
      ['apply_diag_fixes', { record, check: 'nat_type' }],
      ['apply_diag_fixes', { record, check: null }],
      ['undo_diag_fixes', undefined],
      ['export_diag_report', { record }],
      ['diag_history', undefined],
    ]);
  });
});
