// For integration tests: a real control plane with Nacre's CRDs, the emulator's real MGS, MDS, two OSS and FSx API, and kubectl.

import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DescribeFileSystemsCommand, FSxClient, type FileSystem as SdkFileSystem } from '@aws-sdk/client-fsx';
import { type Cluster, startCluster } from '../../e2e/harness/cluster.ts';
import { type Child, startChild } from '../../src/lib/supervisor.ts';
import { waitFor } from '../../src/lib/wait-for.ts';
import { processLauncher, startFileSystemServers } from '../../src/lustre/cluster/servers.ts';

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface FsxEmulator {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** An SDK client for assertions about what the emulator holds. */
  sdk: FSxClient;
  /** Every file system the emulator knows. */
  fileSystems(): Promise<SdkFileSystem[]>;
}

export interface OperatorEnv {
  cluster: Cluster;
  kubectl(args: string[], stdin?: string): Promise<KubectlResult>;
  /** The emulator; absent when started with `servers: false`. */
  fsx: FsxEmulator | undefined;
  stop(): Promise<void>;
}

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const ACCESS_KEY = 'AKIANACREOPERATOR01';
const SECRET_KEY = 'nacre-operator-test-secret-0000000000000';

function kubectlRunner(cluster: Cluster) {
  return (args: string[], stdin?: string): Promise<KubectlResult> =>
    new Promise((resolve) => {
      const child = execFile(
        cluster.tools.kubectl,
        ['--kubeconfig', cluster.kubeconfigPath, ...args],
        { timeout: 60_000, maxBuffer: 8 << 20 },
        (err, stdout, stderr) => {
          const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
          resolve({ code, stdout, stderr });
        },
      );
      child.stdin?.end(stdin ?? '');
    });
}

/** Data repositories live in the cluster's MinIO (credentials from the SDK's chain, as in production). */
function s3Args(cluster: Cluster): string[] {
  return cluster.minio ? ['--s3-endpoint', cluster.minio.endpoint] : [];
}

function s3Env(cluster: Cluster): NodeJS.ProcessEnv {
  const m = cluster.minio;
  return m
    ? { AWS_ACCESS_KEY_ID: m.accessKey, AWS_SECRET_ACCESS_KEY: m.secretKey, AWS_REGION: m.region }
    : {};
}

async function startServers(dir: string, cluster: Cluster): Promise<{ children: Child[]; api: string }> {
  const children: Child[] = [];
  const env = {
    ...process.env,
    NACRE_FSX_ACCESS_KEY_ID: ACCESS_KEY,
    NACRE_FSX_SECRET_ACCESS_KEY: SECRET_KEY,
  };
  const launch = processLauncher({
    nacre: join(REPO, 'cmd', 'nacre.ts'),
    logDir: join(dir, 'logs'),
    env,
    timeoutMs: 60_000,
    started: (s) => children.push(s.child),
  });
  try {
    const { mgs } = await startFileSystemServers(
      { dataDir: dir, ossCount: 2, host: () => 'test-node' },
      launch,
    );
    const api = await startChild({
      name: 'api',
      command: process.execPath,
      args: [
        join(REPO, 'cmd', 'nacre.ts'),
        'server',
        '--role',
        'api',
        '--name',
        'api',
        '--data-dir',
        join(dir, 'api'),
      ].concat(['--listen', '127.0.0.1:0', '--host', 'test-node', '--mgs', mgs.address], s3Args(cluster)),
      logFile: join(dir, 'logs', 'api.log'),
      env: { ...env, ...s3Env(cluster) },
      timeoutMs: 60_000,
    });
    children.push(api);
    return { children, api: String(api.ready['endpoint'] ?? `http://${api.ready.address}`) };
  } catch (err) {
    for (const c of children.reverse()) await c.stop(5_000);
    throw err;
  }
}

/**
 * Starts the control plane with crds/ installed and a nacre-system namespace, and (unless
 * `servers` is false) the emulated file system's servers; `stop` undoes it all.
 */
export async function startOperatorEnv(opts: { servers?: boolean } = {}): Promise<OperatorEnv> {
  const dir = await mkdtemp(join(tmpdir(), 'nacre-operator-'));
  await mkdir(join(dir, 'logs'));
  const cluster = await startCluster({
    minio: opts.servers !== false,
    signal: AbortSignal.timeout(40 * 60_000),
  });
  let servers: { children: Child[]; api: string } | undefined;
  try {
    const kubectl = kubectlRunner(cluster);
    const applied = await kubectl(['apply', '-f', join(REPO, 'crds')]);
    if (applied.code !== 0) throw new Error(`kubectl apply crds/ failed: ${applied.stderr}`);
    const established = await kubectl([
      'wait',
      '--for=condition=Established',
      '--timeout=60s',
      'crd',
      '-l',
      'app.kubernetes.io/name=nacre',
    ]);
    if (established.code !== 0) throw new Error(`CRDs not established: ${established.stderr}`);
    await kubectl(['create', 'namespace', 'nacre-system']);
    if (opts.servers === false)
      return {
        cluster,
        kubectl,
        fsx: undefined,
        stop: () => cluster.stop().then(() => rm(dir, { recursive: true, force: true })),
      };
    servers = await startServers(dir, cluster);
    const sdk = new FSxClient({
      endpoint: servers.api,
      region: 'us-east-1',
      credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY },
      maxAttempts: 1,
    });
    const fsx: FsxEmulator = {
      endpoint: servers.api,
      region: 'us-east-1',
      accessKeyId: ACCESS_KEY,
      secretAccessKey: SECRET_KEY,
      sdk,
      fileSystems: async () => (await sdk.send(new DescribeFileSystemsCommand({}))).FileSystems ?? [],
    };
    const children = servers.children;
    return {
      cluster,
      kubectl,
      fsx,
      stop: async () => {
        sdk.destroy();
        for (const c of [...children].reverse()) await c.stop(5_000);
        await cluster.stop();
        await rm(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    for (const c of [...(servers?.children ?? [])].reverse()) await c.stop(5_000);
    await cluster.stop();
    throw err;
  }
}

/** Polls `check` until it returns something other than undefined (errors count as not yet); fails with `what` after `timeoutMs`. */
export const eventually = <T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 60_000,
) => waitFor(what, check, { timeoutMs, intervalMs: 100, retryErrors: true });
