// The e2e suite's JUnit report read into counts, failures and grouped skip reasons.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseJunit, renderSummary, selected, skipReasons } from './junit-summary.ts';

// The shape Ginkgo v2 writes (status attribute, failure body, self-closing and empty skips).
const REPORT = `<?xml version="1.0" encoding="UTF-8"?>
<testsuites tests="5" disabled="0" errors="0" failures="1" time="120.5">
  <testsuite name="Kubernetes e2e suite" package="/e2e" tests="5" skipped="3" failures="1" errors="0" time="120.5">
    <testcase name="[It] External Storage [Driver: csi.nacre.dev] [Testpattern: Dynamic PV (default fs)] provisioning should provision storage with mount options" classname="Kubernetes e2e suite" status="passed" time="41.2"></testcase>
    <testcase name="[It] External Storage [Driver: csi.nacre.dev] [Testpattern: Dynamic PV (default fs)] subPath should support existing directory" classname="Kubernetes e2e suite" status="failed" time="300.0">
      <failure message="Timed out after 300.000s.&#xA;pod &quot;pod-subpath&quot; never ran" type="failed">[FAILED] Timed out after 300.000s.
pod &quot;pod-subpath&quot; never ran &amp; was deleted
In [It] at: subpath.go:123</failure>
    </testcase>
    <testcase name="[It] External Storage [Driver: csi.nacre.dev] [Testpattern: Dynamic PV (block volmode)] volumes should store data" classname="Kubernetes e2e suite" status="skipped" time="0.01">
      <skipped message="skipped - Driver csi.nacre.dev doesn&#39;t support Block -- skipping"></skipped>
    </testcase>
    <testcase name="[It] External Storage [Driver: csi.nacre.dev] [Testpattern: Dynamic PV (block volmode)] volumeMode should fail" classname="Kubernetes e2e suite" status="skipped" time="0.01">
      <skipped message="skipped - Driver csi.nacre.dev doesn&#39;t support Block -- skipping"/>
    </testcase>
    <testcase name="[It] External Storage [Driver: csi.nacre.dev] [Testpattern: Pre-provisioned PV (ext4)] volumes should store data" classname="Kubernetes e2e suite" time="0">
      <skipped message="skipped - Driver csi.nacre.dev doesn&#39;t support ext4 -- skipping"/>
    </testcase>
  </testsuite>
</testsuites>`;

test('counts, failure reasons and skip reasons come from the report', () => {
  const s = parseJunit(REPORT);
  assert.deepEqual([s.passed, s.failed, s.skipped], [1, 1, 3]);
  const failed = s.specs.find((x) => x.state === 'failed');
  assert.match(failed?.name ?? '', /subPath should support existing directory$/);
  assert.equal(failed?.reason, 'Timed out after 300.000s.');
  assert.match(failed?.detail ?? '', /never ran & was deleted/);
  assert.equal(failed?.seconds, 300);
  assert.deepEqual(skipReasons(s), [
    { reason: "skipped - Driver csi.nacre.dev doesn't support Block -- skipping", count: 2 },
    { reason: "skipped - Driver csi.nacre.dev doesn't support ext4 -- skipping", count: 1 },
  ]);
});

test('the Markdown names every failure and groups the skips', () => {
  const md = renderSummary(parseJunit(REPORT), 'External storage e2e: csi.nacre.dev');
  assert.match(md, /^# External storage e2e: csi\.nacre\.dev$/m);
  assert.match(md, /^passed 1, failed 1, skipped 3 \(of 5\)$/m);
  assert.match(
    md,
    /## Failed\n\n- .*subPath should support existing directory \(300 s\)\n {2}- Timed out after 300\.000s\./,
  );
  assert.match(md, /- 2 × skipped - Driver csi\.nacre\.dev doesn't support Block -- skipping/);
});

test('an empty report is zero of everything, not an error', () => {
  assert.deepEqual(parseJunit('<testsuites></testsuites>'), { passed: 0, failed: 0, skipped: 0, specs: [] });
});

test('specs the run did not select are left out; failures always stay', () => {
  const s = selected(parseJunit(REPORT), /External.Storage/, /block volmode|subPath/);
  assert.deepEqual([s.passed, s.failed, s.skipped], [1, 1, 1]);
  assert.ok(s.specs.some((x) => x.state === 'failed' && /subPath/.test(x.name)));
});
