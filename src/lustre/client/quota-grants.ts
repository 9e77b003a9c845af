// The client's project-quota grants: before a write grows a file, make sure the MDS reserved room for it.
import type { QuotaGrant } from '../types.ts';

interface Held {
  /** The file may grow up to here; null: no limit applies. */
  end: number | null;
  until: number;
}

/**
 * Grants per inode. A write that ends past the size this client knows must fit the inode's grant;
 * otherwise the MDS is asked for one (which rejects with EDQUOT when the project is full), before
 * any byte reaches the OSTs. "No limit" is remembered for a second, so a limit set meanwhile
 * applies to open files within about that long; a streaming writer asks once per granted chunk.
 */
export class QuotaGrants {
  readonly #ask: (ino: number, end: number, signal: AbortSignal | undefined) => Promise<QuotaGrant>;
  readonly #held = new Map<number, Held>();

  constructor(ask: (ino: number, end: number, signal: AbortSignal | undefined) => Promise<QuotaGrant>) {
    this.#ask = ask;
  }

  /** Resolves once a write of `ino` ending at `end` is covered; EDQUOT (from the MDS) when it cannot be. */
  async reserve(
    ino: number,
    knownSize: number | undefined,
    end: number,
    signal?: AbortSignal,
  ): Promise<void> {
    if (knownSize !== undefined && end <= knownSize) return;
    const now = Date.now();
    const h = this.#held.get(ino);
    if (h && h.until > now && (h.end === null || end <= h.end)) return;
    const g = await this.#ask(ino, end, signal);
    const cur = this.#held.get(ino);
    const merged =
      g.end === null || cur?.end === null || cur === undefined ? g.end : Math.max(g.end, cur.end);
    this.#held.set(ino, { end: merged, until: now + g.ttlMs });
  }

  /** Takes a grant the MDS sent unasked (with open or create). */
  seed(ino: number, g: QuotaGrant): void {
    this.#held.set(ino, { end: g.end, until: Date.now() + g.ttlMs });
  }

  forgetAll(): void {
    this.#held.clear();
  }

  /** The client closed the inode: its grant lapses on the MDS by itself. */
  forget(ino: number): void {
    this.#held.delete(ino);
  }
}
