// Chat as the window follows it: one listener to `chat://message` for the app's life
// (started when the Contacts tab first opens), threads loaded when opened, unread counts of
// messages that arrived while their thread was closed.
import { toUiError, type Backend, type ChatMessage, type UiError } from './backend';
import { peerKey } from './contacts';

const same = (a: ChatMessage, b: ChatMessage) =>
  a.msg_id !== null && a.msg_id === b.msg_id && a.account_id === b.account_id && a.direction === b.direction;

export class ChatState {
  /** Loaded threads by peer key, oldest first. */
  threads = $state<Record<string, ChatMessage[]>>({});
  /** Messages received while their thread was closed, by peer key. */
  unread = $state<Record<string, number>>({});
  /** The peer key of the open thread. */
  openKey = $state<string | null>(null);
  error = $state<UiError | null>(null);
  private started: Promise<void> | null = null;

  constructor(private readonly backend: Backend) {}

  start(): Promise<void> {
    this.started ??= this.backend
      .onChat((m) => this.apply(m))
      .then(() => undefined)
      .catch((err) => {
        this.started = null;
        console.warn('chat events unavailable', toUiError(err));
      });
    return this.started;
  }

  apply(m: ChatMessage): void {
    const key = peerKey(m.peer);
    const thread = this.threads[key];
    if (thread) {
      const i = thread.findIndex((x) => same(x, m));
      // A final state never goes back to `sending` (the event can beat send_chat's answer).
      const next =
        i === -1
          ? [...thread, m]
          : thread.map((x, j) => (j === i ? (m.state === 'sending' && x.state !== 'sending' ? x : m) : x));
      this.threads = { ...this.threads, [key]: next };
    }
    if (m.direction === 'incoming' && key !== this.openKey) {
      this.unread = { ...this.unread, [key]: (this.unread[key] ?? 0) + 1 };
    }
  }

  unreadOf(address: string): number {
    return this.unread[peerKey(address)] ?? 0;
  }

  thread(address: string): ChatMessage[] {
    return this.threads[peerKey(address)] ?? [];
  }

  async open(address: string): Promise<void> {
    const key = peerKey(address);
    this.openKey = key;
    this.unread = { ...this.unread, [key]: 0 };
    this.error = null;
    try {
      const loaded = await this.backend.chat_thread(address);
      // Events that came while loading are in `loaded` already (the shell records first).
      this.threads = { ...this.threads, [key]: loaded };
    } catch (err) {
      this.error = toUiError(err);
    }
  }

  close(): void {
    this.openKey = null;
  }

  /** Sends; rejects with a UiError (the thread keeps the text for another try). */
  async send(account_id: string, address: string, text: string): Promise<void> {
    let sent: ChatMessage;
    try {
      sent = await this.backend.send_chat(account_id, address, text);
    } catch (err) {
      throw toUiError(err);
    }
    const key = peerKey(address);
    const thread = this.threads[key] ?? [];
    if (!thread.some((x) => same(x, sent))) this.threads = { ...this.threads, [key]: [...thread, sent] };
  }
}

const states = new WeakMap<Backend, ChatState>();

/** The one chat state of the app that uses `backend`. */
export function chatFor(backend: Backend): ChatState {
  let s = states.get(backend);
  if (!s) {
    s = new ChatState(backend);
    states.set(backend, s);
  }
  return s;
}
