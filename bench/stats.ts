// Small statistics for the benchmarks: medians of interleaved repetitions and ratios against a baseline.

/** Median of a non-empty list (the lower middle for an even count, so it is always a measured value). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new Error('median of nothing');
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)]!;
}

/** `value / baseline`, or NaN when the baseline is zero. */
export function ratio(value: number, baseline: number): number {
  return baseline === 0 ? Number.NaN : value / baseline;
}
