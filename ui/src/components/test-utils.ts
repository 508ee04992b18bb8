// Helpers for the component tests; imported by *.test.ts only, so never part of the build.
import { render, screen, waitFor } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { afterEach, expect } from 'vitest';
import App from '../App.svelte';
import type { Tab } from '../lib/app-state.svelte';
import { setLanguage } from '../lib/i18n.svelte';
import { MockBackend, type CallTiming, type MockOptions } from '../lib/mock-backend';

/** Calls move on quickly, but slowly enough to see each state. */
export const FAST: Partial<CallTiming> = {
  ringAfterMs: 20,
  answerAfterMs: 20,
  connectMs: 20,
  endMs: 10,
  statsEveryMs: 50,
  levelsEveryMs: 20,
};

/** Nothing moves by itself: tests send every state with emitCall. */
export const STILL: Partial<CallTiming> = {
  ringAfterMs: 1e6,
  answerAfterMs: 1e6,
  connectMs: 1e6,
  endMs: 1e6,
  missAfterMs: 1e6,
};

const backends: MockBackend[] = [];
afterEach(() => {
  for (const b of backends.splice(0)) b.dispose();
  // A test that switched the language leaves the next one in English (jsdom's system language).
  setLanguage('system');
});

/** The whole app on a mock, on `tab`, once it listens to calls and has loaded the accounts. */
export async function renderApp(options: MockOptions = {}, tab: Tab = 'phone') {
  const backend = new MockBackend({ registrationDelayMs: null, callTiming: FAST, ...options });
  backends.push(backend);
  const user = userEvent.setup();
  const result = render(App, { props: { backend } });
  await waitFor(() => expect(backend.callUpdateListeners).toBe(1));
  await waitFor(() => expect(backend.calls.some((c) => c.command === 'call_history')).toBe(true));
  if (tab !== 'phone') await user.click(screen.getByTestId(`tab-${tab}`));
  return { backend, user, ...result };
}

/** The arguments of every call of `command`, in order. */
export function argsOf(backend: MockBackend, command: string): unknown[] {
  return backend.calls.filter((c) => c.command === command).map((c) => c.args);
}

export const byTestId = (id: string) => screen.getByTestId(id);
export const text = (id: string) => screen.getByTestId(id).textContent?.replace(/\s+/g, ' ').trim() ?? '';
