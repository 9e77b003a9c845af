// StorageClass S3 parameters end to end: CreateVolume on the real operator and MinIO, then the bucket's objects as files through the CSI node service and a real FUSE mount.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CreateBucketCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { status } from '@grpc/grpc-js';
import { eventually } from '../../test/controller/operator-env.ts';
import { mountCapability } from '../../test/csi/csi-client.ts';
import { type CsiEnv, startCsiEnv } from '../../test/csi/csi-env.ts';
import { MOUNT_RWX, NodePlugin } from './node-plugin.ts';

interface CreatedVolume {
  volumeId: string;
  volumeContext: Record<string, string>;
}

let env: CsiEnv;
let s3: S3Client;
let node: NodePlugin;
const BUCKET = 'csi-volumes';

/** CreateVolume repeated while it answers Aborted, as the external-provisioner does. */
async function createVolume(name: string, parameters: Record<string, string>): Promise<CreatedVolume> {
  return eventually(
    `CreateVolume ${name}`,
    async () => {
      try {
        const r = await env.client.controller<{ volume: CreatedVolume }>('CreateVolume', {
          name,
          volumeCapabilities: [mountCapability()],
          capacityRange: { requiredBytes: String(1200 * 1024 ** 3) },
          parameters,
        });
        return r.volume;
      } catch (err) {
        if ((err as { code?: number }).code === status.ABORTED) return undefined;
        throw err;
      }
    },
    240_000,
  );
}

/** NodeStageVolume + NodePublishVolume as the kubelet calls them; returns the pod's path. */
async function publish(v: CreatedVolume, pod: string): Promise<string> {
  const staging = join(env.dir, `staging-${pod}`);
  const target = join(env.dir, 'pods', pod, 'mount');
  const common = { volumeId: v.volumeId, volumeCapability: MOUNT_RWX, volumeContext: v.volumeContext };
  await node.must('NodeStageVolume', { ...common, stagingTargetPath: staging });
  await node.must('NodePublishVolume', { ...common, stagingTargetPath: staging, targetPath: target });
  return target;
}

async function unpublish(v: CreatedVolume, pod: string): Promise<void> {
  await node.must('NodeUnpublishVolume', {
    volumeId: v.volumeId,
    targetPath: join(env.dir, 'pods', pod, 'mount'),
  });
  await node.must('NodeUnstageVolume', {
    volumeId: v.volumeId,
    stagingTargetPath: join(env.dir, `staging-${pod}`),
  });
}

async function put(key: string, body: string): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
}

async function kubectlNames(kind: string): Promise<string[]> {
  const r = await env.h.env.kubectl(['get', kind, '-n', env.namespace, '-o', 'name']);
  return r.stdout.split('\n').filter((l) => l !== '');
}

describe('StorageClass S3 parameters on file-system-per-volume volumes', { timeout: 20 * 60_000 }, () => {
  before(async () => {
    env = await startCsiEnv({ waitMs: 4_000 });
    const minio = env.h.env.cluster.minio;
    assert.ok(minio, 'the operator environment runs MinIO');
    s3 = new S3Client({
      endpoint: minio.endpoint,
      region: minio.region,
      forcePathStyle: true,
      credentials: { accessKeyId: minio.accessKey, secretAccessKey: minio.secretKey },
    });
    await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    await put('legacy/readme.txt', 'imported through ImportPath\n');
    await put('legacy/dir/nested.txt', 'nested\n');
    await put('dra/data.csv', 'a,b\n1,2\n');
    node = new NodePlugin(env.dir, 'node-s3');
    await node.start();
  });

  after(async () => {
    await node?.stop();
    s3?.destroy();
    await env?.stop();
  });

  it('s3ImportPath on SCRATCH_2: the objects are files in the pod, content loaded from S3', async () => {
    const v = await createVolume('pvc-s3-legacy', {
      deploymentType: 'SCRATCH_2',
      s3ImportPath: `s3://${BUCKET}/legacy/`,
      autoImportPolicy: 'NEW_CHANGED',
    });
    const fs = await env.h.getFs(env.namespace, 'pvc-s3-legacy');
    assert.equal(fs?.spec.lustreConfiguration?.importPath, `s3://${BUCKET}/legacy/`);
    assert.equal(fs?.spec.lustreConfiguration?.autoImportPolicy, 'NEW_CHANGED');
    assert.equal(fs?.status?.dataRepository?.lifecycle, 'AVAILABLE');
    const pod = await publish(v, 'legacy');
    try {
      assert.equal(await readFile(join(pod, 'readme.txt'), 'utf8'), 'imported through ImportPath\n');
      assert.equal(await readFile(join(pod, 'dir', 'nested.txt'), 'utf8'), 'nested\n');
    } finally {
      await unpublish(v, 'legacy');
    }
    await env.client.controller('DeleteVolume', { volumeId: v.volumeId });
  });

  it('on PERSISTENT_2 an association imports the prefix and exports new files automatically; DeleteVolume removes both', async () => {
    const v = await createVolume('pvc-s3-dra', {
      deploymentType: 'PERSISTENT_2',
      perUnitStorageThroughput: '125',
      s3ImportPath: `s3://${BUCKET}/dra/`,
      autoExportPolicy: 'NEW_CHANGED',
    });
    assert.deepEqual(await kubectlNames('fsxdra'), ['datarepositoryassociation.fsx.nacre.dev/pvc-s3-dra']);
    const pod = await publish(v, 'dra');
    try {
      assert.equal(await readFile(join(pod, 'data.csv'), 'utf8'), 'a,b\n1,2\n');
      await writeFile(join(pod, 'written-in-pod.txt'), 'from the pod\n');
      const exported = await eventually(
        'the new file exported to the bucket',
        async () => {
          const r = await s3
            .send(new GetObjectCommand({ Bucket: BUCKET, Key: 'dra/written-in-pod.txt' }))
            .catch(() => undefined);
          return r?.Body ? await r.Body.transformToString() : undefined;
        },
        60_000,
      );
      assert.equal(exported, 'from the pod\n');
    } finally {
      await unpublish(v, 'dra');
    }
    await env.client.controller('DeleteVolume', { volumeId: v.volumeId });
    await eventually(
      'the FileSystem and its association gone',
      async () =>
        (await kubectlNames('fsxdra')).length === 0 && !(await env.h.getFs(env.namespace, 'pvc-s3-dra'))
          ? true
          : undefined,
      120_000,
    );
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'dra/' }));
    assert.ok(
      listed.Contents?.some((o) => o.Key === 'dra/data.csv'),
      'the bucket keeps its objects',
    );
  });

  it('bad S3 parameters are InvalidArgument naming the parameter and create nothing', async () => {
    const before = await kubectlNames('filesystems');
    await assert.rejects(
      env.client.controller('CreateVolume', {
        name: 'pvc-s3-bad',
        volumeCapabilities: [mountCapability()],
        parameters: { s3ImportPath: `s3://${BUCKET}/x`, autoImportPolicy: 'EVERYTHING' },
      }),
      (err: { code?: number; details?: string }) => {
        assert.equal(err.code, status.INVALID_ARGUMENT);
        assert.match(err.details ?? '', /autoImportPolicy="EVERYTHING" must be one of/);
        return true;
      },
    );
    assert.deepEqual(await kubectlNames('filesystems'), before);
  });

  it('s3ImportPath of a bucket that does not exist is InvalidArgument with the reason, and leaves no FileSystem', async () => {
    const before = await kubectlNames('filesystems');
    const err = await eventually(
      'CreateVolume to fail for good',
      async () => {
        try {
          await env.client.controller('CreateVolume', {
            name: 'pvc-s3-nobucket',
            volumeCapabilities: [mountCapability()],
            parameters: { deploymentType: 'SCRATCH_2', s3ImportPath: 's3://no-such-bucket/in/' },
          });
          return { code: status.OK, details: 'succeeded' };
        } catch (e) {
          const { code, details } = e as { code: number; details: string };
          return code === status.ABORTED ? undefined : { code, details };
        }
      },
      240_000,
    );
    assert.equal(err.code, status.INVALID_ARGUMENT, err.details);
    assert.match(err.details, /s3:\/\/no-such-bucket\/in\/.*(FAILED|MISCONFIGURED)/);
    await eventually(
      'the refused FileSystem deleted',
      async () => ((await kubectlNames('filesystems')).length === before.length ? true : undefined),
      120_000,
    );
  });
});
