// A MinIO server alone on loopback, for file-system and S3 tests that need no Kubernetes: start, wait ready, stop, restart on the same port.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NacreError } from '../../src/lib/errors.ts';
import { freePorts, logTail, type ProcessRecord, pollUntil, spawnServer, stopServer } from './processes.ts';
import { toolPath } from './tools.ts';

export interface MinioServer {
  endpoint: string;
  accessKey: string;
  secretKey: string;
  region: string;
  /** Stops the server, keeping its data, so a test can see S3 go away. */
  pause(): Promise<void>;
  /** Starts it again on the same port and data. */
  resume(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts MinIO with the given webhook notification targets (`arn:minio:sqs::<id>:webhook`). */
export async function startMinio(opts: { webhooks?: Record<string, string> } = {}): Promise<MinioServer> {
  const bin = await toolPath('minio');
  const dir = await mkdtemp(join(tmpdir(), 'nacre-minio-'));
  const [port, consolePort] = await freePorts(2);
  const endpoint = `http://127.0.0.1:${port}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    MINIO_ROOT_USER: 'nacre-minio',
    MINIO_ROOT_PASSWORD: 'nacre-minio-secret',
    MINIO_BROWSER: 'off',
    MINIO_UPDATE: 'off',
  };
  for (const [id, url] of Object.entries(opts.webhooks ?? {})) {
    env[`MINIO_NOTIFY_WEBHOOK_ENABLE_${id}`] = 'on';
    env[`MINIO_NOTIFY_WEBHOOK_ENDPOINT_${id}`] = url;
  }
  let rec: ProcessRecord | undefined;
  const start = async () => {
    rec = await spawnServer({
      name: 'minio',
      command: bin,
      args: [
        'server',
        '--quiet',
        '--address',
        `127.0.0.1:${port}`,
        '--console-address',
        `127.0.0.1:${consolePort}`,
        join(dir, 'data'),
      ],
      logFile: join(dir, 'minio.log'),
      env,
      keep: false,
    });
    const ready = await pollUntil(async () => {
      try {
        return (await fetch(`${endpoint}/minio/health/ready`, { signal: AbortSignal.timeout(1000) })).ok;
      } catch {
        return false;
      }
    }, 60_000);
    if (!ready)
      throw new NacreError(
        'MinioNotReady',
        `MinIO did not become ready: ${await logTail(join(dir, 'minio.log'))}`,
      );
  };
  await start();
  return {
    endpoint,
    accessKey: 'nacre-minio',
    secretKey: 'nacre-minio-secret',
    region: 'us-east-1',
    async pause() {
      if (rec) await stopServer(rec);
      rec = undefined;
    },
    resume: start,
    async stop() {
      if (rec) await stopServer(rec);
      rec = undefined;
      await rm(dir, { recursive: true, force: true });
    },
  };
}
