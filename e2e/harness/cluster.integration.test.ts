// Proves the local control plane is a real Kubernetes (CRDs, watches, selectors, PV binding, version) and MinIO a real S3.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { after, before, test } from 'node:test';
import { promisify } from 'node:util';
import {
  CreateBucketCommand,
  GetObjectCommand,
  PutBucketNotificationConfigurationCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import {
  ApiextensionsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  Watch,
} from '@kubernetes/client-node';
import { waitFor } from '../../src/lib/wait-for.ts';
import { type Cluster, startCluster } from './cluster.ts';

const GROUP = 'test.nacre.dev';
const VERSION = 'v1';
const PLURAL = 'widgets';
const NS = 'default';

let cluster: Cluster;
let kc: KubeConfig;
let webhook: Server;
/** Bodies MinIO posted to the webhook target. */
const notifications: unknown[] = [];

before(
  async () => {
    webhook = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        if (body.length > 0) notifications.push(JSON.parse(body));
        res.end();
      });
    });
    await new Promise<void>((resolve) => webhook.listen(0, '127.0.0.1', resolve));
    const addr = webhook.address();
    assert.ok(addr !== null && typeof addr === 'object');
    cluster = await startCluster({
      minio: { webhooks: { nacre: `http://127.0.0.1:${addr.port}/events` } },
      signal: AbortSignal.timeout(40 * 60_000), // covers a cold build of missing tools
    });
    kc = new KubeConfig();
    kc.loadFromFile(cluster.kubeconfigPath);
  },
  { timeout: 45 * 60_000 },
);

after(async () => {
  await cluster?.stop();
  webhook?.close();
});

/** Polls `check` until it holds, failing with `what` after `timeoutMs`. */
const eventually = (what: string, check: () => Promise<boolean>, timeoutMs = 30_000) =>
  waitFor(what, check, { timeoutMs, intervalMs: 200 });

function widget(name: string, labels: Record<string, string>, size: number): object {
  return { apiVersion: `${GROUP}/${VERSION}`, kind: 'Widget', metadata: { name, labels }, spec: { size } };
}

test('kubectl and the API server both report v1.37', { timeout: 30_000 }, async () => {
  const { stdout } = await promisify(execFile)(
    cluster.tools.kubectl,
    ['version', '-o', 'json', `--kubeconfig=${cluster.kubeconfigPath}`, '--request-timeout=20s'],
    { timeout: 25_000 },
  );
  const v = JSON.parse(stdout) as {
    clientVersion: { gitVersion: string };
    serverVersion: { gitVersion: string };
  };
  assert.match(v.serverVersion.gitVersion, /^v1\.37\./);
  assert.match(v.clientVersion.gitVersion, /^v1\.37\./);
});

test('a CRD becomes Established; its resources are watched and selected by label', {
  timeout: 60_000,
}, async () => {
  const ext = kc.makeApiClient(ApiextensionsV1Api);
  await ext.createCustomResourceDefinition({
    body: {
      metadata: { name: `${PLURAL}.${GROUP}` },
      spec: {
        group: GROUP,
        scope: 'Namespaced',
        names: { plural: PLURAL, singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
        versions: [
          {
            name: VERSION,
            served: true,
            storage: true,
            schema: {
              openAPIV3Schema: {
                type: 'object',
                properties: {
                  spec: { type: 'object', properties: { size: { type: 'integer', minimum: 1 } } },
                },
              },
            },
          },
        ],
      },
    },
  });
  await eventually('the CRD to be Established', async () => {
    const crd = await ext.readCustomResourceDefinition({ name: `${PLURAL}.${GROUP}` });
    return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ?? false;
  });

  const objects = kc.makeApiClient(CustomObjectsApi);
  const ref = { group: GROUP, version: VERSION, namespace: NS, plural: PLURAL };
  // The API server validates against the schema: a size below the minimum is refused.
  await assert.rejects(objects.createNamespacedCustomObject({ ...ref, body: widget('bad', {}, 0) }));

  const created = (await objects.createNamespacedCustomObject({
    ...ref,
    body: widget('w-a', { tier: 'gold' }, 1),
  })) as { metadata: { resourceVersion: string } };
  await objects.createNamespacedCustomObject({ ...ref, body: widget('w-b', { tier: 'silver' }, 1) });
  await objects.createNamespacedCustomObject({ ...ref, body: widget('w-c', { tier: 'gold' }, 1) });

  const seen: { phase: string; size: number }[] = [];
  const watching = await new Watch(kc).watch(
    `/apis/${GROUP}/${VERSION}/namespaces/${NS}/${PLURAL}`,
    { resourceVersion: created.metadata.resourceVersion, fieldSelector: 'metadata.name=w-a' },
    (phase, obj: { spec: { size: number } }) => {
      seen.push({ phase, size: obj.spec.size });
    },
    () => {},
  );
  try {
    await objects.patchNamespacedCustomObject(
      { ...ref, name: 'w-a', body: { spec: { size: 3 } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await eventually('a MODIFIED event with the new size', async () =>
      seen.some((e) => e.phase === 'MODIFIED' && e.size === 3),
    );
  } finally {
    watching.abort();
  }

  const gold = (await objects.listNamespacedCustomObject({ ...ref, labelSelector: 'tier=gold' })) as {
    items: { metadata: { name: string } }[];
  };
  assert.deepEqual(gold.items.map((i) => i.metadata.name).sort(), ['w-a', 'w-c']);
});

test('kube-controller-manager binds a PVC to a matching static PV', { timeout: 60_000 }, async () => {
  const core = kc.makeApiClient(CoreV1Api);
  await core.createPersistentVolume({
    body: {
      metadata: { name: 'pv-static' },
      spec: {
        capacity: { storage: '1Gi' },
        accessModes: ['ReadWriteMany'],
        storageClassName: 'nacre-static',
        persistentVolumeReclaimPolicy: 'Retain',
        hostPath: { path: '/tmp/nacre-pv-static' },
      },
    },
  });
  await core.createNamespacedPersistentVolumeClaim({
    namespace: NS,
    body: {
      metadata: { name: 'claim' },
      spec: {
        accessModes: ['ReadWriteMany'],
        storageClassName: 'nacre-static',
        resources: { requests: { storage: '1Gi' } },
      },
    },
  });
  await eventually('the PVC to be Bound', async () => {
    const pvc = await core.readNamespacedPersistentVolumeClaim({ name: 'claim', namespace: NS });
    return pvc.status?.phase === 'Bound';
  });
  const pv = await core.readPersistentVolume({ name: 'pv-static' });
  assert.equal(pv.spec?.claimRef?.name, 'claim');
  assert.equal(pv.status?.phase, 'Bound');
});

test('MinIO stores objects and posts bucket events to the webhook target', { timeout: 60_000 }, async () => {
  const minio = cluster.minio!;
  const s3 = new S3Client({
    endpoint: minio.endpoint,
    region: minio.region,
    forcePathStyle: true,
    credentials: { accessKeyId: minio.accessKey, secretAccessKey: minio.secretKey },
  });
  try {
    const signal = AbortSignal.timeout(30_000);
    await s3.send(new CreateBucketCommand({ Bucket: 'events' }), { abortSignal: signal });
    await s3.send(
      new PutBucketNotificationConfigurationCommand({
        Bucket: 'events',
        NotificationConfiguration: {
          QueueConfigurations: [{ QueueArn: 'arn:minio:sqs::nacre:webhook', Events: ['s3:ObjectCreated:*'] }],
        },
      }),
      { abortSignal: signal },
    );
    await s3.send(new PutObjectCommand({ Bucket: 'events', Key: 'dir/hello.txt', Body: 'hello' }), {
      abortSignal: signal,
    });
    const got = await s3.send(new GetObjectCommand({ Bucket: 'events', Key: 'dir/hello.txt' }), {
      abortSignal: signal,
    });
    assert.equal(await got.Body?.transformToString(), 'hello');
    await eventually('a webhook notification for the new object', async () =>
      notifications.some((n) => JSON.stringify(n).includes('dir/hello.txt')),
    );
  } finally {
    s3.destroy();
  }
});
