// Client sessions of one MDT: which clients are attached, and the grace timers that drop their locks and evict them.
import type { ServerSession } from '../protocol/rpc-server.ts';

interface ClientState {
  host: string;
  sessions: Set<ServerSession>;
  lockTimer: NodeJS.Timeout | undefined;
  evictTimer: NodeJS.Timeout | undefined;
}

export interface ClientRegistryOptions {
  /** A client without a session for this long is evicted: its handles are released. */
  graceMs: number;
  /** A client without a session for this long loses its locks. */
  lockGraceMs: number;
  onLocksExpired: (client: string) => void;
  onEvict: (client: string) => void;
}

/**
 * A client may hold several sessions (a reconnect can overlap the old connection's close). When
 * its last session closes, its locks go after `lockGraceMs` and the client is evicted after
 * `graceMs`, unless it re-attaches first. Clients remembered from before a restart get the same
 * treatment from `awaitReconnect`.
 */
export class ClientRegistry {
  readonly #o: ClientRegistryOptions;
  readonly #clients = new Map<string, ClientState>();

  constructor(opts: ClientRegistryOptions) {
    this.#o = opts;
  }

  attach(client: string, host: string, session: ServerSession): void {
    const st = this.#state(client, host);
    st.host = host;
    clearTimeout(st.lockTimer);
    clearTimeout(st.evictTimer);
    st.lockTimer = st.evictTimer = undefined;
    st.sessions.add(session);
  }

  detach(client: string, session: ServerSession): void {
    const st = this.#clients.get(client);
    if (!st?.sessions.delete(session) || st.sessions.size > 0) return;
    this.#startTimers(client, st);
  }

  /** Clients known from the database at start: evicted unless they connect within the grace period. */
  awaitReconnect(clients: readonly string[]): void {
    for (const c of clients) {
      if (this.#clients.has(c)) continue;
      this.#startTimers(c, this.#state(c, ''));
    }
  }

  /** The client has a live session (it reconnected, say, while its eviction was under way). */
  attached(client: string): boolean {
    return (this.#clients.get(client)?.sessions.size ?? 0) > 0;
  }

  host(client: string): string {
    return this.#clients.get(client)?.host ?? '';
  }

  *sessions(): Iterable<ServerSession> {
    for (const st of this.#clients.values()) yield* st.sessions;
  }

  /** Clients waiting for a reconnect or eviction. */
  pending(): string[] {
    return [...this.#clients].filter(([, st]) => st.sessions.size === 0).map(([c]) => c);
  }

  close(): void {
    for (const st of this.#clients.values()) {
      clearTimeout(st.lockTimer);
      clearTimeout(st.evictTimer);
    }
    this.#clients.clear();
  }

  #state(client: string, host: string): ClientState {
    let st = this.#clients.get(client);
    if (!st) {
      st = { host, sessions: new Set(), lockTimer: undefined, evictTimer: undefined };
      this.#clients.set(client, st);
    }
    return st;
  }

  #startTimers(client: string, st: ClientState): void {
    st.lockTimer = setTimeout(
      () => this.#o.onLocksExpired(client),
      Math.min(this.#o.lockGraceMs, this.#o.graceMs),
    );
    st.evictTimer = setTimeout(() => {
      if (this.#clients.get(client) === st && st.sessions.size === 0) this.#clients.delete(client);
      this.#o.onEvict(client);
    }, this.#o.graceMs);
  }
}
