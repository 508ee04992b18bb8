import {
  toUiError,
  type Account,
  type AccountInput,
  type AppInfo,
  type Backend,
  type RegistrationStatus,
  type UiError,
} from './backend';
import { Calls } from './calls.svelte';
import { t } from './i18n.svelte';

export type Tab = 'phone' | 'contacts' | 'diagnostics' | 'settings';

export const TABS: readonly { id: Tab; readonly label: string }[] = (
  ['phone', 'contacts', 'diagnostics', 'settings'] as const
).map((id) => ({
  id,
  /** In the language in use. */
  get label() {
    return t(`tab-${id}`);
  },
}));

/** The state that several tabs share: what the backend told us, and which tab is open. */
export class AppState {
  tab = $state<Tab>('phone');
  info = $state<AppInfo | null>(null);
  infoError = $state<UiError | null>(null);
  accounts = $state<Account[]>([]);
  accountsLoaded = $state(false);
  accountsError = $state<UiError | null>(null);
  /** The latest registration status of each account, by account id. */
  registrations = $state<Record<string, RegistrationStatus>>({});
  /**
   * Text a clicked link asks the dialer to show (the dialer takes it and sets this back to
   * null). A link never dials by itself: the person presses Call.
   */
  dialRequest = $state<string | null>(null);
  /** A link was opened: the dialer shows even with no account (direct calls and echo work). */
  linkOpened = $state(false);
  /**
   * The first run's account while it is being set up (the Phone tab shows its steps until the
   * person is done, even though the account list is no longer empty); `editing` is back on
   * the two fields after a failure.
   */
  firstRun = $state<{ accountId: string; host: string; address: string; editing?: boolean } | null>(null);
  /** Live calls, the history and the levels (see calls.svelte.ts). */
  readonly calls: Calls;

  constructor(
    readonly backend: Backend,
    /** True when running on the mock: the UI says so instead of pretending. */
    readonly demo: boolean,
  ) {
    this.calls = new Calls(backend);
  }

  /** The name an account id stands for in call screens and the history. */
  accountName(id: string | null): string | null {
    if (id === null) return null;
    return this.accounts.find((a) => a.id === id)?.display_name ?? null;
  }

  async load(): Promise<void> {
    await Promise.all([this.loadInfo(), this.loadAccounts()]);
  }

  /**
   * Follows registration states: listens first, then asks for the current ones, so no change
   * falls between the two. Resolves to the function that stops listening.
   */
  async watchRegistrations(): Promise<() => void> {
    let unlisten: () => void = () => {};
    const seen = new Set<string>();
    try {
      unlisten = await this.backend.onRegistration((status) => {
        seen.add(status.account_id);
        this.registrations = { ...this.registrations, [status.account_id]: status };
      });
    } catch (err) {
      // The badges then say "Not registered"; the accounts themselves still work.
      console.warn('registration events unavailable', toUiError(err));
    }
    try {
      const states = await this.backend.registration_states();
      const next = { ...this.registrations };
      // A change that arrived while we were asking is newer than the answer.
      for (const s of states) if (!seen.has(s.account_id)) next[s.account_id] = s;
      this.registrations = next;
    } catch (err) {
      console.warn('registration_states failed', toUiError(err));
    }
    return unlisten;
  }

  /**
   * Follows links (`sip:`, `sips:`, `tel:`): the one Homeline was started with, then every one
   * opened while it runs. Each opens the Phone tab with the link in the dialer. Resolves to the
   * function that stops listening.
   */
  async watchLinks(): Promise<() => void> {
    let unlisten: () => void = () => {};
    try {
      unlisten = await this.backend.onLink((text) => this.openLink(text));
    } catch (err) {
      console.warn('link events unavailable', toUiError(err));
    }
    try {
      const first = await this.backend.take_link();
      if (first !== null) this.openLink(first);
    } catch (err) {
      console.warn('take_link failed', toUiError(err));
    }
    return unlisten;
  }

  openLink(text: string): void {
    this.tab = 'phone';
    this.linkOpened = true;
    this.dialRequest = text;
  }

  /** Tells the shell that the first content is on screen (its start-up benchmark reads it). */
  async reportReady(): Promise<void> {
    try {
      await this.backend.ui_ready();
    } catch (err) {
      // Only a measurement: the app works without it, so a failure is logged, not shown.
      console.warn('ui_ready failed', toUiError(err));
    }
  }

  async loadInfo(): Promise<void> {
    try {
      this.info = await this.backend.app_info();
      this.infoError = null;
    } catch (err) {
      this.infoError = toUiError(err);
    }
  }

  async loadAccounts(): Promise<void> {
    try {
      this.accounts = await this.backend.list_accounts();
      this.accountsError = null;
    } catch (err) {
      this.accountsError = toUiError(err);
    } finally {
      this.accountsLoaded = true;
    }
  }

  /** Saves and updates the list; rejects with a UiError for the form to show. */
  async saveAccount(input: AccountInput): Promise<Account> {
    let saved: Account;
    try {
      saved = await this.backend.save_account(input);
    } catch (err) {
      throw toUiError(err);
    }
    const i = this.accounts.findIndex((a) => a.id === saved.id);
    let next = i === -1 ? [...this.accounts, saved] : this.accounts.map((a) => (a.id === saved.id ? saved : a));
    // There is one default account: marking this one unmarks the others, as phone does.
    if (saved.is_default) {
      next = next.map((a) => (a.id === saved.id || !a.is_default ? a : { ...a, is_default: false }));
    }
    this.accounts = next;
    return saved;
  }

  /** Removes and updates the list; rejects with a UiError. */
  async removeAccount(id: string): Promise<void> {
    try {
      await this.backend.remove_account(id);
    } catch (err) {
      throw toUiError(err);
    }
    this.accounts = this.accounts.filter((a) => a.id !== id);
    const rest = { ...this.registrations };
    delete rest[id];
    this.registrations = rest;
  }
}
