// Presence as the window follows it: one listener to `presence://update` for the app's life
// (started when the Phone or Contacts tab first shows), each contact watched once per
// registration of the account, our own published status, and each account's voicemail.
import {
  toUiError,
  type Backend,
  type Contact,
  type PresenceEvent,
  type PresenceStatus,
  type UiError,
  type Voicemail,
} from './backend';
import { labels, t } from './i18n.svelte';

export interface ContactPresence {
  status: PresenceStatus;
  note: string | null;
  /** Why presence is not available for this contact, when it is not. */
  reason: UiError | null;
}

export const STATUS_LABEL: Record<PresenceStatus, string> = labels(
  ['available', 'away', 'busy', 'on-the-phone', 'offline', 'unknown'],
  'presence',
);

/** The statuses the user may choose for themselves (`offline` = appear offline). */
export const OWN_CHOICES: readonly { status: PresenceStatus; readonly label: string }[] = [
  { status: 'available', get label() { return t('presence-available'); } },
  { status: 'away', get label() { return t('presence-away'); } },
  { status: 'busy', get label() { return t('presence-busy'); } },
  { status: 'offline', get label() { return t('presence-appear-offline'); } },
];

const key = (uri: string) => uri.trim().toLowerCase();

/**
 * What to watch for an address: SIP addresses as they are; a number without its spacing
 * (`+44 20 7946 0958` → `+442079460958`), which the phone then places at the account's
 * domain — a URI cannot hold spaces.
 */
export function watchTarget(address: string): string {
  const a = address.trim();
  return /^sips?:/i.test(a) || a.includes('@') ? a : a.replace(/[\s\-.()/]/g, '');
}

export class PresenceState {
  /** By watched URI (lower case). */
  byUri = $state<Record<string, ContactPresence>>({});
  /** The URI each contact address is watched as, per account: `${account}\n${address}`. */
  private uriOf = $state<Record<string, string>>({});
  /** What the server holds of our status (the last `published` event). */
  own = $state<PresenceStatus | null>(null);
  /** Why our own status could not be set or published. */
  ownError = $state<UiError | null>(null);
  /** Each account's voicemail summary, once its server sent one. */
  voicemail = $state<Record<string, Voicemail>>({});
  private started: Promise<void> | null = null;
  private watching = new Set<string>();

  constructor(private readonly backend: Backend) {}

  /** Listens to presence events; once, however often it is called. */
  start(): Promise<void> {
    this.started ??= this.backend
      .onPresence((e) => this.apply(e))
      .then(() => undefined)
      .catch((err) => {
        this.started = null;
        console.warn('presence events unavailable', toUiError(err));
      });
    return this.started;
  }

  apply(e: PresenceEvent): void {
    if (e.kind === 'contact') {
      this.byUri = { ...this.byUri, [key(e.uri)]: { status: e.status, note: e.note, reason: null } };
    } else if (e.kind === 'published') {
      this.own = e.status;
      this.ownError = null;
    } else if (e.kind === 'voicemail') {
      const { account_id, kind: _kind, ...summary } = e;
      this.voicemail = { ...this.voicemail, [account_id]: summary };
    } else if (e.uri === null) {
      this.ownError = e.reason;
    } else {
      this.byUri = { ...this.byUri, [key(e.uri)]: { status: 'unknown', note: null, reason: e.reason } };
    }
  }

  /** Watches every contact not yet watched through `account_id`. */
  async watchAll(account_id: string, contacts: Contact[]): Promise<void> {
    for (const c of contacts) {
      const k = `${account_id}\n${c.address}`;
      if (this.watching.has(k)) continue;
      this.watching.add(k);
      try {
        const uri = await this.backend.watch_presence(account_id, watchTarget(c.address));
        this.uriOf = { ...this.uriOf, [k]: key(uri) };
      } catch (err) {
        // Not registered after all: the next registration tries again.
        this.watching.delete(k);
        console.warn('watch_presence failed', toUiError(err));
      }
    }
  }

  /** The account lost its registration: watch again after the next one. */
  forget(account_id: string): void {
    for (const k of [...this.watching]) if (k.startsWith(`${account_id}\n`)) this.watching.delete(k);
  }

  of(account_id: string | null, contact: Contact): ContactPresence {
    const uri = account_id === null ? undefined : this.uriOf[`${account_id}\n${contact.address}`];
    return (uri && this.byUri[uri]) || { status: 'unknown', note: null, reason: null };
  }

  async setOwn(account_id: string, status: PresenceStatus, note: string | null): Promise<void> {
    this.ownError = null;
    try {
      await this.backend.set_presence(account_id, status, note);
    } catch (err) {
      this.ownError = toUiError(err);
    }
  }
}

const states = new WeakMap<Backend, PresenceState>();

/** The one presence state of the app that uses `backend`. */
export function presenceFor(backend: Backend): PresenceState {
  let s = states.get(backend);
  if (!s) {
    s = new PresenceState(backend);
    states.set(backend, s);
  }
  return s;
}
