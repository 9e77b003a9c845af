import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { CHART_DIR } from './helm.ts';

const CRDS = join(import.meta.dirname, '..', '..', 'crds');

test('the chart ships exactly the CRDs of crds/, byte for byte (cp crds/*.yaml charts/nacre/crds/ after regenerating)', async () => {
  const source = (await readdir(CRDS)).filter((f) => f.endsWith('.yaml')).sort();
  const chart = (await readdir(join(CHART_DIR, 'crds'))).filter((f) => f.endsWith('.yaml')).sort();
  assert.deepEqual(chart, source);
  for (const f of source) {
    const [want, got] = await Promise.all([
      readFile(join(CRDS, f), 'utf8'),
      readFile(join(CHART_DIR, 'crds', f), 'utf8'),
    ]);
    assert.ok(got === want, `charts/nacre/crds/${f} differs from crds/${f}`);
  }
});
