// The named selections of the external storage suite: valid patterns, and subpath + rest covering the sub-directory driver's specs once.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_SKIP, SUITE_PARTS, suitePart } from './suite-parts.ts';

const spec = (s: string) =>
  `[It] External Storage [Driver: csi.nacre.dev] [Testpattern: Dynamic PV (default fs)] ${s}`;
const runs = (part: string, name: string) => {
  const p = suitePart(part);
  return new RegExp(p.focus).test(name) && !new RegExp(p.skip).test(name);
};

test('subpath and rest split the sub-directory driver: every spec in exactly one, the default skips in neither', () => {
  const names = [
    spec('subPath should support existing directory'),
    spec('volumes should store data'),
    spec('volumeMode should not mount / map unused volumes in a pod [LinuxOnly]'),
    spec('provisioning should provision storage with any volume data source [Serial]'),
    spec('disruptive should unmount if pod is gracefully deleted while kubelet is down [Disruptive]'),
  ];
  for (const name of names) {
    const inParts = ['subpath', 'rest'].filter((p) => runs(p, name));
    const skipped = new RegExp(DEFAULT_SKIP).test(name);
    assert.equal(inParts.length, skipped ? 0 : 1, `${name}: ${inParts.join(', ')}`);
  }
  assert.ok(runs('quick', spec('volumes should store data')));
  assert.ok(!runs('quick', spec('subPath should support existing directory')));
});

test('every part names a driver file of test/k8s-e2e; an unknown part is refused naming the known ones', () => {
  for (const p of Object.values(SUITE_PARTS)) assert.match(p.driver, /^test\/k8s-e2e\/.+\.yaml$/);
  assert.throws(() => suitePart('nope'), /want one of quick, subpath, rest, persistent/);
});
