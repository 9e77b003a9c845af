// What a local control plane records of itself (state.json) and the MinIO server it may run.
import type { ProcessRecord } from './processes.ts';

export interface MinioOptions {
  /** Webhook notification targets by id; a bucket notification names one as `arn:minio:sqs::<id>:webhook`. */
  webhooks?: Record<string, string>;
  accessKey?: string;
  secretKey?: string;
}

export interface MinioEndpoint {
  /** http://127.0.0.1:PORT */
  endpoint: string;
  accessKey: string;
  secretKey: string;
  /** What clients sign with; the server has no region set, so its ARNs read arn:minio:sqs::<id>:webhook. */
  region: string;
}

/** What `<dir>/state.json` holds: enough for any process to report on or stop the cluster. */
export interface ClusterState {
  version: 1;
  dir: string;
  /** The directory was made for this cluster and goes with it; otherwise only logs/ stay. */
  ownsDir: boolean;
  /** https://127.0.0.1:PORT */
  server: string;
  kubeconfigPath: string;
  minio?: MinioEndpoint;
  /** In start order. */
  processes: ProcessRecord[];
  startedAt: string;
}
