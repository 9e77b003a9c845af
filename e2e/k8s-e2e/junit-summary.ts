// Reads the JUnit report e2e.test writes (-report-dir) into counts, failures and skip reasons, and renders them as Markdown.

export type SpecState = 'passed' | 'failed' | 'skipped';

export interface SpecResult {
  name: string;
  state: SpecState;
  seconds: number;
  /** First line of the failure or skip message ('' when there is none). */
  reason: string;
  /** The whole failure message, for failed specs. */
  detail: string;
}

export interface Summary {
  passed: number;
  failed: number;
  skipped: number;
  specs: SpecResult[];
}

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function unescapeXml(s: string): string {
  return s.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (whole, e: string) => {
    if (e.startsWith('#x')) return String.fromCodePoint(Number.parseInt(e.slice(2), 16));
    if (e.startsWith('#')) return String.fromCodePoint(Number.parseInt(e.slice(1), 10));
    return ENTITIES[e] ?? whole;
  });
}

function attr(tag: string, name: string): string | undefined {
  const m = new RegExp(`\\s${name}="([^"]*)"`).exec(tag);
  return m ? unescapeXml(m[1]!) : undefined;
}

/** The body of `<element ...>body</element>`, or its message attribute when it is self-closing. */
function element(
  body: string,
  name: 'failure' | 'error' | 'skipped',
): { message: string; text: string } | undefined {
  const m = new RegExp(`<${name}(\\s[^>]*?)?(/>|>([\\s\\S]*?)</${name}>)`).exec(body);
  if (!m) return undefined;
  return { message: attr(m[1] ?? '', 'message') ?? '', text: unescapeXml(m[3] ?? '').trim() };
}

const firstLine = (s: string) => s.trim().split('\n')[0]?.trim() ?? '';

/** Every testcase of a Ginkgo JUnit report (status attribute first, child elements otherwise). */
export function parseJunit(xml: string): Summary {
  const specs: SpecResult[] = [];
  const re = /<testcase(\s[^>]*?)(\/>|>([\s\S]*?)<\/testcase>)/g;
  for (const m of xml.matchAll(re)) {
    const tag = m[1] ?? '';
    const body = m[3] ?? '';
    const failure = element(body, 'failure') ?? element(body, 'error');
    const skipped = element(body, 'skipped');
    const status = attr(tag, 'status');
    let state: SpecState;
    if (status === 'passed' || status === 'failed' || status === 'skipped') state = status;
    else if (
      status === 'panicked' ||
      status === 'interrupted' ||
      status === 'aborted' ||
      status === 'timedout'
    )
      state = 'failed';
    else state = failure ? 'failed' : skipped ? 'skipped' : 'passed';
    const detail = failure ? [failure.message, failure.text].filter(Boolean).join('\n') : '';
    const reason =
      state === 'failed'
        ? firstLine(detail)
        : state === 'skipped'
          ? firstLine(skipped?.message || skipped?.text || '')
          : '';
    specs.push({
      name: attr(tag, 'name') ?? '',
      state,
      seconds: Number(attr(tag, 'time') ?? 0),
      reason,
      detail,
    });
  }
  const count = (s: SpecState) => specs.filter((x) => x.state === s).length;
  return { passed: count('passed'), failed: count('failed'), skipped: count('skipped'), specs };
}

/**
 * Only the specs the run selected (name matches `focus`, not `skip`), plus anything that failed
 * (a failed [SynchronizedBeforeSuite] explains every spec after it): the report lists every spec of
 * the binary, the ones filtered out as skipped.
 */
export function selected(summary: Summary, focus: RegExp, skip: RegExp): Summary {
  const specs = summary.specs.filter(
    (s) => s.state === 'failed' || (focus.test(s.name) && !skip.test(s.name)),
  );
  const count = (st: SpecState) => specs.filter((x) => x.state === st).length;
  return { passed: count('passed'), failed: count('failed'), skipped: count('skipped'), specs };
}

/** Skip reasons with how many specs each skipped, most first. */
export function skipReasons(summary: Summary): Array<{ reason: string; count: number }> {
  const by = new Map<string, number>();
  for (const s of summary.specs)
    if (s.state === 'skipped') {
      // Spec-specific details (sizes, names) after a colon vary; group on the stable head.
      const key = s.reason.replace(/\s+/g, ' ') || '(no reason given)';
      by.set(key, (by.get(key) ?? 0) + 1);
    }
  return [...by].map(([reason, count]) => ({ reason, count })).sort((a, b) => b.count - a.count);
}

/** The summary as Markdown: counts, every failure with its first line, skip reasons, what passed. */
export function renderSummary(summary: Summary, heading: string): string {
  const lines = [
    `# ${heading}`,
    '',
    `passed ${summary.passed}, failed ${summary.failed}, skipped ${summary.skipped} (of ${summary.specs.length})`,
    '',
  ];
  const failed = summary.specs.filter((s) => s.state === 'failed');
  if (failed.length) {
    lines.push('## Failed', '');
    for (const s of failed) lines.push(`- ${s.name} (${s.seconds.toFixed(0)} s)`, `  - ${s.reason}`);
    lines.push('');
  }
  const passed = summary.specs.filter((s) => s.state === 'passed');
  if (passed.length) {
    lines.push('## Passed', '');
    for (const s of passed) lines.push(`- ${s.name} (${s.seconds.toFixed(0)} s)`);
    lines.push('');
  }
  const reasons = skipReasons(summary);
  if (reasons.length) {
    lines.push('## Skipped, by reason', '');
    for (const r of reasons) lines.push(`- ${r.count} × ${r.reason}`);
    lines.push('');
  }
  return lines.join('\n');
}
