import { screen, waitFor } from '@testing-library/svelte';
import { describe, expect, it } from 'vitest';
import { account } from '../lib/test-fixtures';
import { argsOf, renderApp, text } from './test-utils';

const office = account({ id: 'acc-office', display_name: 'Office', sip_address: 'sip:me@example.com', is_default: true });
const vm = {
  waiting: true,
  new: 2,
  old: 8,
  urgent_new: 1,
  message_account: 'sip:*97@example.com',
  voicemail_number: '*97',
};

describe('Phone tab: voicemail indicator', () => {
  it('shows nothing until the server sends a summary, then the counts, and calls voicemail', async () => {
    const { backend, user } = await renderApp({ accounts: [office], presenceDelayMs: null });
    // The Phone tab listens to presence events from the start (not only the Contacts tab).
    await waitFor(() => expect(backend.calls.some((c) => c.command === 'onPresence')).toBe(true));
    expect(screen.queryByTestId('voicemail')).toBeNull();

    backend.emitPresence({ account_id: 'acc-office', kind: 'voicemail', ...vm });
    await waitFor(() => expect(text('voicemail-text')).toBe('2 new voicemails (1 urgent), 8 old'));
    await user.click(screen.getByTestId('voicemail-call'));
    await waitFor(() => expect(argsOf(backend, 'dial')).toEqual([{ target: '*97', account_id: 'acc-office' }]));
  });

  it('says when nothing new is waiting', async () => {
    const { backend } = await renderApp({ accounts: [office], presenceDelayMs: null });
    await waitFor(() => expect(backend.calls.some((c) => c.command === 'onPresence')).toBe(true));
    backend.emitPresence({ account_id: 'acc-office', kind: 'voicemail', ...vm, waiting: false, new: 0, urgent_new: 0 });
    await waitFor(() => expect(text('voicemail-text')).toBe('No new voicemail'));
    expect(screen.getByTestId('voicemail').classList.contains('new')).toBe(false);
  });
});
