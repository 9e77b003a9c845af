// Leader election on a coordination.k8s.io Lease, as client-go's: one replica leads, the others wait for its lease to lapse.

import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { NacreError } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';
import type { LeaseRecord, LeaseStore } from '../platform/kube-core.ts';

export interface LeaderElectionOptions {
  store: LeaseStore;
  /** This replica's name in the Lease (default: hostname and a random suffix). */
  identity?: string;
  /** How long a lease holds without renewal (default 15 s). */
  leaseDurationMs?: number;
  /** A leader that could not renew for this long steps down (default 10 s; less than the duration). */
  renewDeadlineMs?: number;
  /** Pause between attempts to acquire or renew (default 2 s). */
  retryPeriodMs?: number;
  log: Logger;
  /** Runs while leading; `signal` aborts when leadership is lost or the elector stops. Must return after the abort. */
  lead: (signal: AbortSignal) => Promise<void>;
  onLeading?: (leading: boolean) => void;
}

export function defaultIdentity(): string {
  return `${hostname()}-${randomBytes(4).toString('hex')}`;
}

/**
 * Campaigns for the lease until `signal` aborts, running `lead` whenever this replica holds it.
 * Expiry is judged by this replica's own clock from when it last saw the lease change (never the
 * holder's timestamps), so clock skew between replicas cannot make two leaders. A leader steps
 * down once it has failed to renew for renewDeadline, before any other replica may take over; on
 * a clean stop it releases the lease so another replica takes over at once.
 */
export class LeaderElector {
  readonly #o: Required<Omit<LeaderElectionOptions, 'onLeading'>> & Pick<LeaderElectionOptions, 'onLeading'>;
  #observed: { key: string; at: number } | undefined;
  #current: LeaseRecord | undefined;
  #lastFailure: string | undefined;

  constructor(opts: LeaderElectionOptions) {
    this.#o = {
      identity: defaultIdentity(),
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
      ...opts,
    };
  }

  get identity(): string {
    return this.#o.identity;
  }

  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      // An attempt that ends later than the renew deadline would lead on a lease already lapsing.
      const won = await this.#tryAcquireOrRenew(signal, this.#o.renewDeadlineMs);
      if (won !== undefined) await this.#leadUntilLost(signal, won);
      else await sleep(this.#o.retryPeriodMs, undefined, { signal }).catch(() => {});
    }
  }

  /** Leads from a lease written by an attempt that started at `wonAt` (ms), until it is lost or `signal` aborts. */
  async #leadUntilLost(signal: AbortSignal, wonAt: number): Promise<void> {
    const { log, identity } = this.#o;
    log.info('became the leader', { identity });
    this.#o.onLeading?.(true);
    const leading = new AbortController();
    const stopLeading = () => leading.abort(new NacreError('LeadershipEnded', 'leadership ended'));
    signal.addEventListener('abort', stopLeading, { once: true });
    // A stop that came while the lease was being won has fired its event already: honour it now.
    if (signal.aborted) stopLeading();
    const work = this.#o.lead(leading.signal).catch((err: unknown) => {
      log.error('the leader’s work failed', { error: err instanceof Error ? err.message : String(err) });
    });
    // As client-go: the renew deadline counts from the start of the last attempt that renewed
    // (its renewTime), and no attempt outlives it — a late success would extend a lease other
    // replicas may already judge lapsed.
    let lastRenew = wonAt;
    while (!leading.signal.aborted) {
      await sleep(this.#o.retryPeriodMs, undefined, { signal: leading.signal }).catch(() => {});
      if (leading.signal.aborted) break;
      const left = lastRenew + this.#o.renewDeadlineMs - Date.now();
      const renewed = left > 0 ? await this.#tryAcquireOrRenew(leading.signal, left) : undefined;
      if (renewed !== undefined) lastRenew = renewed;
      else if (Date.now() - lastRenew >= this.#o.renewDeadlineMs) {
        log.warn('lost the lease: could not renew it in time', { identity });
        stopLeading();
      }
    }
    signal.removeEventListener('abort', stopLeading);
    await work;
    this.#o.onLeading?.(false);
    if (signal.aborted) await this.#release();
  }

  /**
   * One attempt, aborted after `boundMs`: when this replica holds the lease afterwards, the time
   * (ms) the attempt started, which is the renewTime it wrote; else undefined (failures count as "no").
   */
  async #tryAcquireOrRenew(signal: AbortSignal, boundMs: number): Promise<number | undefined> {
    const { store, identity, leaseDurationMs } = this.#o;
    const attempt = AbortSignal.any([signal, AbortSignal.timeout(Math.max(1, Math.ceil(boundMs)))]);
    try {
      const now = new Date();
      const rec = await store.read(attempt);
      this.#observe(rec);
      const ours = rec?.holderIdentity === identity;
      if (rec?.holderIdentity && !ours && !this.#expired()) return undefined;
      const next: LeaseRecord = {
        holderIdentity: identity,
        leaseDurationSeconds: Math.ceil(leaseDurationMs / 1000),
        acquireTime: ours && rec?.acquireTime ? rec.acquireTime : now,
        renewTime: now,
        leaseTransitions: (rec?.leaseTransitions ?? 0) + (ours || !rec ? 0 : 1),
        ...(rec?.resourceVersion ? { resourceVersion: rec.resourceVersion } : {}),
      };
      this.#current = await store.write(next, attempt);
      this.#observe(this.#current);
      return now.getTime();
    } catch (err) {
      if (!signal.aborted) this.#reportFailure(err);
      return undefined;
    }
  }

  /** Losing a race (Conflict) is routine; anything else is worth a warning, once per distinct message. */
  #reportFailure(err: unknown): void {
    const message = err instanceof Error ? err.message : String(err);
    const routine = (err as { code?: unknown } | null)?.code === 'Conflict';
    if (routine || message === this.#lastFailure)
      this.#o.log.debug('lease attempt failed', { error: message });
    else this.#o.log.warn('cannot acquire or renew the lease', { error: message });
    if (!routine) this.#lastFailure = message;
  }

  #observe(rec: LeaseRecord | undefined): void {
    const key = JSON.stringify([rec?.holderIdentity, rec?.renewTime?.getTime(), rec?.resourceVersion]);
    if (this.#observed?.key !== key) this.#observed = { key, at: Date.now() };
  }

  #expired(): boolean {
    return this.#observed === undefined || Date.now() - this.#observed.at > this.#o.leaseDurationMs;
  }

  /** Gives the lease up (empty holder) so a standby replica need not wait for it to expire. */
  async #release(): Promise<void> {
    const cur = this.#current;
    if (!cur || cur.holderIdentity !== this.#o.identity) return;
    try {
      const { holderIdentity: _h, ...rest } = cur;
      await this.#o.store.write(
        { ...rest, leaseDurationSeconds: 1, renewTime: new Date() },
        AbortSignal.timeout(5_000),
      );
      this.#o.log.info('released the lease', { identity: this.#o.identity });
    } catch (err) {
      this.#o.log.warn('could not release the lease', {
        error: err instanceof Error ? err.message : String(err),
      });
    }
  }
}
