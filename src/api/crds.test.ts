import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse } from 'yaml';
import { renderCrds } from './crds.ts';
import { staleCrdFiles } from './generate-crds.ts';
import type { JsonSchema } from './schema.ts';

test('crds/ holds exactly what src/api generates', async () => {
  assert.deepEqual(await staleCrdFiles(), [], 'run: node src/api/generate-crds.ts');
});

function walk(s: JsonSchema, path: string, visit: (s: JsonSchema, path: string) => void): void {
  visit(s, path);
  for (const [k, v] of Object.entries(s.properties ?? {})) walk(v, `${path}.${k}`, visit);
  if (s.items) walk(s.items, `${path}[]`, visit);
  if (s.additionalProperties) walk(s.additionalProperties, `${path}{}`, visit);
}

test('every CRD is structural: each node has a type, each field a description', () => {
  for (const [file, text] of renderCrds()) {
    const crd = parse(text) as {
      spec: { versions: { schema: { openAPIV3Schema: JsonSchema }; subresources: unknown }[] };
    };
    const version = crd.spec.versions[0]!;
    assert.deepEqual(version.subresources, { status: {} }, file);
    walk(version.schema.openAPIV3Schema, file, (s, path) => {
      assert.ok(s.type, `${path} has no type`);
      if (path.includes('.spec') || path.includes('.status'))
        assert.ok(s.description, `${path} has no description`);
    });
  }
});

test('the FileSystem CRD has the printer columns and short name users type', () => {
  const crd = parse(renderCrds().get('fsx.nacre.dev_filesystems.yaml')!) as {
    spec: { names: { shortNames: string[] }; versions: { additionalPrinterColumns: { name: string }[] }[] };
  };
  assert.deepEqual(crd.spec.names.shortNames, ['fsxfs']);
  assert.deepEqual(
    crd.spec.versions[0]!.additionalPrinterColumns.map((c) => c.name),
    ['ID', 'Backend', 'Type', 'Capacity', 'DNS', 'Lifecycle', 'Ready', 'Age'],
  );
});
