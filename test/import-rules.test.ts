// The layering rules of the source tree, checked on the import graph read from the files themselves.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

const ROOT = path.resolve(import.meta.dirname, '..');

interface Edge {
  from: string;
  /** Repository-relative path of a local import, or the package name of a bare one. */
  to: string;
  local: boolean;
  line: number;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
    const rel = path.posix.join(dir, e.name);
    if (e.isDirectory()) out.push(...sourceFiles(rel));
    else if (e.name.endsWith('.ts')) out.push(rel);
  }
  return out;
}

const SPECIFIER =
  /(?:^|[\s;])(?:import|export)\s[^;'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/gm;

function importsOf(file: string): Edge[] {
  const text = readFileSync(path.join(ROOT, file), 'utf8');
  const edges: Edge[] = [];
  for (const m of text.matchAll(SPECIFIER)) {
    const spec = (m[1] ?? m[2])!;
    const line = text.slice(0, m.index).split('\n').length;
    if (spec.startsWith('.')) {
      edges.push({
        from: file,
        to: path.posix.normalize(path.posix.join(path.posix.dirname(file), spec)),
        local: true,
        line,
      });
    } else if (!spec.startsWith('node:')) {
      const pkg = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!;
      edges.push({ from: file, to: pkg, local: false, line });
    }
  }
  return edges;
}

const isTest = (f: string) => f.endsWith('.test.ts');
/** Production code: what ships. */
const production = [...sourceFiles('src'), ...sourceFiles('cmd')].filter((f) => !isTest(f));
const edges = production.flatMap(importsOf);
const show = (e: Edge) => `${e.from}:${e.line} imports ${e.to}`;

test('nothing that ships imports test-only code, e2e or benchmarks', () => {
  const bad = edges.filter((e) => e.local && /^(test|e2e|bench)\//.test(e.to)).map(show);
  assert.deepEqual(bad, []);
});

/** SDKs reach the code only through a seam: Kubernetes and any other in src/platform, FSx in src/fsx/backend*, gRPC in src/csi. */
const SDKS = ['@aws-sdk/', '@smithy/', '@kubernetes/', '@grpc/'];
function sdkAllowed(from: string, pkg: string): boolean {
  if (from.startsWith('src/platform/')) return true;
  if (/^src\/fsx\/backend[^/]*\.ts$/.test(from)) return pkg === '@aws-sdk/client-fsx';
  if (from.startsWith('src/csi/')) return pkg.startsWith('@grpc/');
  return false;
}

test('only src/platform, src/fsx/backend* and (for gRPC) src/csi import an SDK', () => {
  const bad = edges
    .filter((e) => !e.local && SDKS.some((s) => e.to.startsWith(s)) && !sdkAllowed(e.from, e.to))
    .map(show);
  assert.deepEqual(bad, []);
});

/**
 * Which folders a folder's production code may import (besides itself). A folder not named here is
 * held only to the rules of every folder: no SDK outside its seam, no test code, no cycles.
 */
const LAYERS: Record<string, string[]> = {
  'src/lib/': [],
  'src/lustre/protocol/': ['src/lib/', 'src/lustre/types.ts'],
  'src/lustre/mgs/': ['src/lib/', 'src/lustre/types.ts', 'src/lustre/protocol/'],
  'src/lustre/oss/': ['src/lib/', 'src/lustre/types.ts', 'src/lustre/protocol/'],
  'src/lustre/mds/': ['src/lib/', 'src/lustre/types.ts', 'src/lustre/striping.ts', 'src/lustre/protocol/'],
  'src/lustre/client/': [
    'src/lib/',
    'src/lustre/types.ts',
    'src/lustre/striping.ts',
    'src/lustre/protocol/',
    'src/lustre/mount-source.ts',
  ],
  'src/lustre/fuse/': ['src/lib/', 'src/lustre/types.ts', 'src/lustre/client/'],
  'src/api/': ['src/lib/'],
  'src/platform/': ['src/lib/'],
  'src/fsx/backend': ['src/lib/', 'src/api/', 'src/fsx/backend'],
  'src/controller/': [
    'src/lib/',
    'src/api/',
    'src/fsx/backend',
    'src/platform/',
    'src/lustre/mount-source.ts',
  ],
};

test('dependencies point one way: fuse → client → protocol ← servers; servers never import each other', () => {
  const bad: string[] = [];
  for (const e of edges.filter((e) => e.local && e.from.startsWith('src/'))) {
    const layer = Object.keys(LAYERS)
      .filter((k) => e.from.startsWith(k))
      .sort((a, b) => b.length - a.length)[0];
    if (layer === undefined || e.to.startsWith(layer)) continue;
    if (!LAYERS[layer]!.some((allowed) => e.to.startsWith(allowed))) bad.push(show(e));
  }
  assert.deepEqual(bad, []);
});

test('no import cycles in what ships', () => {
  const graph = new Map<string, string[]>();
  for (const e of edges.filter((e) => e.local)) graph.set(e.from, [...(graph.get(e.from) ?? []), e.to]);
  const cycles: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (f: string) => {
    state.set(f, 'open');
    stack.push(f);
    for (const to of graph.get(f) ?? []) {
      if (state.get(to) === 'open') cycles.push([...stack.slice(stack.indexOf(to)), to].join(' → '));
      else if (!state.has(to)) visit(to);
    }
    stack.pop();
    state.set(f, 'done');
  };
  for (const f of production) if (!state.has(f)) visit(f);
  assert.deepEqual(cycles, []);
});

test('the graph is read: imports are found and resolve to files that exist', () => {
  // proto/gen holds the CSI types generated from csi.proto (scripts/fetch-csi-proto.sh, before typecheck).
  const files = new Set([...sourceFiles('src'), ...sourceFiles('cmd'), ...sourceFiles('proto/gen')]);
  const missing = edges.filter((e) => e.local && e.to.endsWith('.ts') && !files.has(e.to)).map(show);
  assert.deepEqual(missing, []);
  assert.ok(edges.filter((e) => e.local).length > 300, 'hundreds of local imports are seen');
  assert.ok(edges.some((e) => e.from === 'src/lustre/fuse/session.ts' && e.to === 'src/lustre/types.ts'));
});
