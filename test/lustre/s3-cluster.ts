// Test support for the HSM against real S3: a MinIO with one bucket, a test cluster, an agent and a user client, and a store wrapper for seams.
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { type MinioServer, startMinio } from '../../e2e/harness/minio-server.ts';
import { connectLustre, type LustreClient } from '../../src/lustre/client/lustre-client.ts';
import { S3ObjectStore } from '../../src/platform/s3-object-store.ts';
import { startTestCluster, type TestCluster } from './test-cluster.ts';

export interface S3ClusterOptions {
  /** The bucket created empty in MinIO for the test. */
  bucket: string;
  signal: AbortSignal;
  /** The S3ObjectStore's deadline for one request (ms); default 5 s. */
  storeTimeoutMs?: number;
  /** Each OSS in its own process, so bytes they move reach no process but theirs. */
  ossInChildren?: boolean;
  /** The agent registers with the MDS as its HSM agent (one poll) before the user connects. */
  registerAgent?: boolean;
}

export interface S3Cluster {
  minio: MinioServer;
  /** An SDK client of MinIO, for the test's own puts and looks at the bucket. */
  s3: S3Client;
  /** The real store on MinIO, unwrapped. */
  store: S3ObjectStore;
  /** Two OSSes, one OST each. */
  cluster: TestCluster;
  /** The client the HSM agent's work runs on. */
  agent: LustreClient;
  /** A client of the file system's user. */
  user: LustreClient;
  /** Closes the clients, the cluster, the store and MinIO, last started first. */
  close(): Promise<void>;
}

/** Starts it all; if a step fails, what had started is closed before the error is thrown. */
export async function startS3Cluster(opts: S3ClusterOptions): Promise<S3Cluster> {
  const { signal } = opts;
  const closers: (() => unknown)[] = [];
  const close = async () => {
    for (const c of closers.splice(0).reverse()) await c();
  };
  try {
    const minio = await startMinio();
    closers.push(() => minio.stop());
    const credentials = { accessKeyId: minio.accessKey, secretAccessKey: minio.secretKey };
    const s3 = new S3Client({
      endpoint: minio.endpoint,
      region: minio.region,
      forcePathStyle: true,
      credentials,
    });
    closers.push(() => s3.destroy());
    await s3.send(new CreateBucketCommand({ Bucket: opts.bucket }), { abortSignal: signal });
    const store = new S3ObjectStore({
      endpoint: minio.endpoint,
      region: minio.region,
      credentials,
      timeoutMs: opts.storeTimeoutMs ?? 5_000,
    });
    closers.push(() => store.close());
    const cluster = await startTestCluster({ ossCount: 2, ossInChildren: opts.ossInChildren ?? false });
    closers.push(() => cluster.close());
    const connect = async () => {
      const client = await connectLustre({
        mgsAddress: cluster.mgsAddress,
        fsname: cluster.fsname,
        host: 't',
        signal,
      });
      closers.push(() => client.close());
      return client;
    };
    const agent = await connect();
    if (opts.registerAgent) await agent.mds.call('hsmAgentPoll', { timeoutMs: 0 }, signal);
    const user = await connect();
    return { minio, s3, store, cluster, agent, user, close };
  } catch (e) {
    await close();
    throw e;
  }
}

/**
 * `store` with the methods of `overrides` in place of its own (a seam for one test); every other
 * member is the store's, its methods bound to it.
 */
export function storeWith<T extends object>(store: T, overrides: Partial<T>): T {
  return new Proxy(store, {
    get(target, p) {
      if (Object.hasOwn(overrides, p)) return overrides[p as keyof T];
      const v = Reflect.get(target, p);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}
