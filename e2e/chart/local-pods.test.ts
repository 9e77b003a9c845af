import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { NacreError } from '../../src/lib/errors.ts';
import type { PodSpec } from './helm.ts';
import { expand, type LocalWorld, localCommand, localPod } from './local-pods.ts';

test('$(VAR) expands from earlier env; $$ escapes; unknown names stay', () => {
  assert.equal(expand('oss-$(NODE_NAME):$(NOPE) $$(X)', { NODE_NAME: 'n1' }), 'oss-n1:$(NOPE) $(X)');
});

test('a rendered container becomes a loopback command line with local paths, ports and secrets', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'nacre-local-pods-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const spec: PodSpec = {
    containers: [
      {
        name: 'oss',
        image: 'nacre:1',
        command: ['nacre'],
        args: [
          'server',
          '--listen=0.0.0.0:9402',
          '--advertise=$(POD_IP):9402',
          '--unix-socket=/run/nacre/oss/oss.sock',
          '--data-dir=/var/lib/nacre/oss',
          '--mgs=nacre-mgs.ns.svc:9400',
          '--name=oss-$(NODE_NAME)',
          '--capacity=10G',
        ],
        env: [
          { name: 'NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
          { name: 'POD_IP', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
          { name: 'KEY', valueFrom: { secretKeyRef: { name: 'creds', key: 'id' } } },
          { name: 'URL', value: 'http://nacre-api.ns.svc:9000' },
        ],
        ports: [
          { name: 'oss', containerPort: 9402 },
          { name: 'oss-metrics', containerPort: 8084 },
        ],
        readinessProbe: { httpGet: { path: '/readyz', port: 'oss-metrics' } },
        volumeMounts: [
          { name: 'data', mountPath: '/var/lib/nacre/oss' },
          { name: 'sock', mountPath: '/run/nacre/oss' },
        ],
      },
    ],
    volumes: [
      { name: 'data', hostPath: { path: '/var/lib/nacre/oss', type: 'DirectoryOrCreate' } },
      { name: 'sock', emptyDir: {} },
    ],
  };
  const mgs = await localPod(
    'nacre-mgs-0',
    'node-a',
    { containers: [{ name: 'mgs', image: 'x', ports: [{ containerPort: 9400 }, { containerPort: 9000 }] }] },
    join(root, 'mgs'),
  );
  const pod = await localPod('nacre-node-b', 'node-b', spec, join(root, 'pod'));
  const world: LocalWorld = {
    namespace: 'ns',
    root,
    hosts: new Map([
      ['nacre-mgs.ns.svc', mgs],
      ['nacre-api.ns.svc', mgs],
    ]),
    secrets: new Map([['creds', { id: 'AKID' }]]),
    nacre: ['/usr/bin/node', 'cmd/nacre.ts'],
  };
  const cmd = await localCommand(spec, 'oss', pod, world);
  const own = pod.ports.get(9402);
  assert.equal(cmd.command, '/usr/bin/node');
  assert.deepEqual(cmd.args, [
    'cmd/nacre.ts',
    'server',
    `--listen=127.0.0.1:${own}`,
    `--advertise=127.0.0.1:${own}`,
    `--unix-socket=${join(root, 'pod', 'volumes', 'sock')}/oss.sock`,
    `--data-dir=${join(root, 'nodes', 'node-b', 'var', 'lib', 'nacre', 'oss')}`,
    `--mgs=127.0.0.1:${mgs.ports.get(9400)}`,
    '--name=oss-node-b',
    '--capacity=10G',
  ]);
  assert.equal(cmd.env['KEY'], 'AKID');
  assert.equal(cmd.env['URL'], `http://127.0.0.1:${mgs.ports.get(9000)}`);
  assert.equal(cmd.readyUrl, `http://127.0.0.1:${pod.ports.get(8084)}/readyz`);
  assert.ok((await stat(join(root, 'nodes', 'node-b', 'var', 'lib', 'nacre', 'oss'))).isDirectory());

  // What cannot be mapped is an error naming it, never a silently different command line.
  const bad = structuredClone(spec);
  bad.containers[0]!.args = ['--mgs=nacre-elsewhere.ns.svc:9400'];
  await assert.rejects(
    localCommand(bad, 'oss', pod, world),
    (e: unknown) => e instanceof NacreError && /nacre-elsewhere/.test(e.message),
  );
  bad.containers[0]!.env = [{ name: 'X', valueFrom: { secretKeyRef: { name: 'creds', key: 'nope' } } }];
  await assert.rejects(localCommand(bad, 'oss', pod, world), /no key nope/);
});
