import {
  toUiError,
  type Backend,
  type CallView,
  type HistoryEntry,
  type LevelReading,
  type UiError,
} from './backend';

/** A history entry for a call that just ended, until the backend's history has it too. */
export function historyEntryOf(call: CallView): HistoryEntry {
  return {
    id: call.id,
    account_id: call.account_id,
    direction: call.direction,
    remote: call.remote,
    remote_name: call.remote_name,
    started_at: call.started_at,
    answered_at: call.answered_at,
    ended_at: call.ended_at ?? Date.now(),
    outcome: call.outcome ?? 'failed',
    reason: call.end_reason?.message ?? null,
  };
}

/** True for a call that is connected (talking or held), as opposed to ringing or ending. */
export function isConnected(call: CallView): boolean {
  return call.state === 'active' || call.state === 'connecting';
}

/**
 * The calls as the UI sees them: every live call, which one the screen shows, the call that
 * just ended, the history and the audio levels. It follows `calls://update` and turns the
 * buttons' intents into commands; the backend's events stay the one source of truth, so
 * nothing here guesses a call's state ahead of them.
 */
export class Calls {
  /** Calls not yet ended, in the order they appeared. */
  list = $state<CallView[]>([]);
  /** Newest first; includes calls that ended here even before the backend lists them. */
  history = $state<HistoryEntry[]>([]);
  historyLoaded = $state(false);
  historyError = $state<UiError | null>(null);
  /** The latest level reading while a call has audio; null otherwise. */
  levels = $state<LevelReading | null>(null);
  /** The call the user chose to look at when there are several. */
  selectedId = $state<string | null>(null);
  /** The call that just ended, shown for {@link endedShowMs} (then null). */
  ended = $state<CallView | null>(null);
  /** What the last failed action (dial, mute …) said; cleared by the next action. */
  error = $state<UiError | null>(null);
  /** Ids of calls whose action is under way, so their buttons do not fire twice. */
  busy = $state<Record<string, boolean>>({});

  /** How long the outcome of an ended call stays on screen. */
  endedShowMs = 4000;

  /** The first call ringing here that waits for Answer or Reject. */
  readonly incoming = $derived(this.list.find((c) => c.state === 'incoming') ?? null);

  /** The call the call screen shows: the chosen one, else the one not on hold, else any. */
  readonly current = $derived.by(() => {
    const shown = this.list.filter((c) => c.state !== 'incoming');
    return (
      shown.find((c) => c.id === this.selectedId) ??
      shown.find((c) => !c.on_hold && c.state !== 'ending') ??
      shown[0] ??
      null
    );
  });

  /** The other calls on the call screen (held ones to swap to, or ones still ending). */
  readonly others = $derived(this.list.filter((c) => c.state !== 'incoming' && c.id !== this.current?.id));

  private endedIds = new Set<string>();
  /** Entries of calls that ended here and that the fetched history does not have yet. */
  private local: HistoryEntry[] = [];
  private fetched: HistoryEntry[] = [];
  private endedTimer: ReturnType<typeof setTimeout> | null = null;
  private dtmfQueue: Promise<void> = Promise.resolve();
  private historySeq = 0;

  constructor(private readonly backend: Backend) {}

  /**
   * Follows the calls: listens first, then asks for the live calls and the history, so no
   * change falls in between; then watches the levels. Resolves to the function that stops.
   */
  async watch(): Promise<() => void> {
    const stops: (() => void)[] = [];
    const seen = new Set<string>();
    try {
      stops.push(
        await this.backend.onCallUpdate((call) => {
          seen.add(call.id);
          this.apply(call);
        }),
      );
    } catch (err) {
      console.warn('call events unavailable', toUiError(err));
    }
    try {
      const live = await this.backend.list_calls();
      for (const call of live) if (!seen.has(call.id) && !this.endedIds.has(call.id)) this.insert(call);
    } catch (err) {
      console.warn('list_calls failed', toUiError(err));
    }
    await this.loadHistory();
    try {
      stops.push(
        await this.backend.watch_levels((reading) => {
          if (this.list.some(isConnected)) this.levels = reading;
        }),
      );
    } catch (err) {
      // The meters then stay empty; calls work without them.
      console.warn('watch_levels failed', toUiError(err));
    }
    return () => {
      for (const stop of stops) stop();
      if (this.endedTimer !== null) clearTimeout(this.endedTimer);
    };
  }

  /** One `calls://update`: the newest state of one call. */
  apply(call: CallView): void {
    if (call.state === 'ended') {
      this.finish(call);
      return;
    }
    if (this.endedIds.has(call.id)) return;
    const i = this.list.findIndex((c) => c.id === call.id);
    if (i === -1) {
      this.list = [...this.list, call];
      // A new call of ours replaces the outcome of the last one.
      if (call.direction === 'outgoing') this.clearEnded();
    } else {
      this.list = this.list.map((c) => (c.id === call.id ? call : c));
    }
  }

  async loadHistory(): Promise<void> {
    const mine = ++this.historySeq;
    try {
      const fetched = await this.backend.call_history();
      // Two calls ending close together start two loads: only the newest one counts.
      if (mine !== this.historySeq) return;
      this.fetched = fetched;
      this.historyError = null;
    } catch (err) {
      if (mine !== this.historySeq) return;
      this.historyError = toUiError(err);
    }
    this.historyLoaded = true;
    this.mergeHistory();
  }

  async clearHistory(): Promise<boolean> {
    return this.act(null, async () => {
      await this.backend.clear_history();
      this.fetched = [];
      this.local = [];
      this.mergeHistory();
    });
  }

  /** Dials `target`; `account_id` null lets the dial rules choose. */
  async dial(target: string, account_id: string | null = null): Promise<boolean> {
    return this.act(null, async () => this.started(await this.backend.dial(target, account_id)));
  }

  async echoTest(): Promise<boolean> {
    return this.act(null, async () => this.started(await this.backend.echo_test()));
  }

  /** Answers `id`; a call waiting behind a connected one is answered after holding that one. */
  async answer(id: string): Promise<boolean> {
    return this.act(id, async () => {
      for (const c of this.list) {
        if (c.id !== id && isConnected(c) && !c.on_hold) await this.backend.hold_call(c.id, true);
      }
      await this.backend.answer_call(id);
      this.selectedId = id;
    });
  }

  async reject(id: string): Promise<boolean> {
    return this.act(id, () => this.backend.reject_call(id));
  }

  async hangup(id: string): Promise<boolean> {
    return this.act(id, () => this.backend.hangup_call(id));
  }

  async setMuted(id: string, on: boolean): Promise<boolean> {
    return this.act(id, () => this.backend.mute_call(id, on));
  }

  async setHeld(id: string, on: boolean): Promise<boolean> {
    return this.act(id, () => this.backend.hold_call(id, on));
  }

  /** Shows `id`: holds the connected call that is not held, then resumes `id`. */
  async swapTo(id: string): Promise<boolean> {
    return this.act(id, async () => {
      for (const c of this.list) {
        if (c.id !== id && isConnected(c) && !c.on_hold) await this.backend.hold_call(c.id, true);
      }
      const target = this.list.find((c) => c.id === id);
      if (target?.on_hold) await this.backend.hold_call(id, false);
      this.selectedId = id;
    });
  }

  /**
   * Sends tones one press after the other: each waits for the one before, so quick presses
   * arrive in order and none is dropped while another is under way.
   */
  sendDtmf(id: string, digits: string): Promise<boolean> {
    const next = this.dtmfQueue.then(() => this.act(null, () => this.backend.send_dtmf(id, digits)));
    this.dtmfQueue = next.then(() => undefined);
    return next;
  }

  /** Hides the outcome of the ended call now. */
  clearEnded(): void {
    if (this.endedTimer !== null) clearTimeout(this.endedTimer);
    this.endedTimer = null;
    this.ended = null;
  }

  private async act(id: string | null, body: () => Promise<unknown>): Promise<boolean> {
    if (id !== null && this.busy[id]) return false;
    this.error = null;
    if (id !== null) this.busy = { ...this.busy, [id]: true };
    try {
      await body();
      return true;
    } catch (err) {
      this.error = toUiError(err);
      return false;
    } finally {
      if (id !== null) {
        const rest = { ...this.busy };
        delete rest[id];
        this.busy = rest;
      }
    }
  }

  /** A call our own command started: show it, unless its events got here first. */
  private started(call: CallView): void {
    if (this.ended?.id !== call.id) this.clearEnded();
    if (call.state === 'ended') this.finish(call);
    else if (!this.endedIds.has(call.id) && !this.list.some((c) => c.id === call.id)) this.insert(call);
    if (!this.endedIds.has(call.id)) this.selectedId = call.id;
  }

  private insert(call: CallView): void {
    this.list = [...this.list, call];
  }

  private finish(call: CallView): void {
    if (this.endedIds.has(call.id)) return;
    this.endedIds.add(call.id);
    this.list = this.list.filter((c) => c.id !== call.id);
    if (this.selectedId === call.id) this.selectedId = null;
    if (!this.list.some(isConnected)) this.levels = null;
    // A call the user turned down here needs no report of how it ended.
    const turnedDown = call.direction === 'incoming' && call.outcome === 'rejected';
    if (!turnedDown) {
      this.clearEnded();
      this.ended = call;
      this.endedTimer = setTimeout(() => {
        this.endedTimer = null;
        this.ended = null;
      }, this.endedShowMs);
    }
    this.local = [historyEntryOf(call), ...this.local.filter((h) => h.id !== call.id)];
    this.mergeHistory();
    void this.loadHistory();
  }

  private mergeHistory(): void {
    const known = new Set(this.fetched.map((h) => h.id));
    this.local = this.local.filter((h) => !known.has(h.id));
    this.history = [...this.local, ...this.fetched].sort((a, b) => b.started_at - a.started_at);
  }
}
