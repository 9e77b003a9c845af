// One queue per volume on the node: CSI calls and the volume monitor's repairs run one after another.

/**
 * Runs work for one volume one after another (the kubelet may repeat a call while the first still
 * runs, and the monitor's remount must not interleave with an unstage). Work for other volumes is
 * not held up. A failed run does not block the next.
 */
export class VolumeLocks {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(volumeId: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.tails.get(volumeId) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.tails.set(volumeId, tail);
    void tail.then(() => {
      if (this.tails.get(volumeId) === tail) this.tails.delete(volumeId);
    });
    return next;
  }
}
