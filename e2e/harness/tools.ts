// Paths of the Go-built test tools, resolved (and built when missing) by build-tools.sh.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { DeadlineExceededError, NacreError } from '../../src/lib/errors.ts';

export const TOOL_NAMES = [
  'kube-apiserver',
  'kube-controller-manager',
  'kubectl',
  'etcd',
  'csi-sanity',
  'csi-provisioner',
  'helm',
  'minio',
  'csi-resizer',
  'csi-snapshotter',
  'snapshot-controller',
  'kubelet',
  'kube-scheduler',
  'kube-proxy',
  'containerd',
  'containerd-shim-runc-v2',
  'ctr',
  'pause',
  'coredns',
  // The Kubernetes e2e suite and its test program: built only when asked for (npm run test:k8s-e2e).
  'e2e.test',
  'agnhost',
] as const;

export type ToolName = (typeof TOOL_NAMES)[number];

/** The tools every cluster needs (allToolPaths); the CSI sidecars are resolved by the tests that run them. */
const CLUSTER_TOOLS = TOOL_NAMES.slice(0, 8);

/** Absolute paths of every tool binary, under the field names tests use. */
export interface ToolPaths {
  kubeApiserver: string;
  kubeControllerManager: string;
  kubectl: string;
  etcd: string;
  csiSanity: string;
  provisioner: string;
  helm: string;
  minio: string;
}

export const BUILD_TOOLS_SCRIPT = join(import.meta.dirname, 'build-tools.sh');

/** A cold build of every tool takes 10–25 minutes on 2 cores; a warm lookup takes milliseconds. */
const BUILD_DEADLINE_MS = 60 * 60_000;

const resolved = new Map<ToolName, string>();

/**
 * The paths of `names`' binaries in the versioned tool cache (NACRE_TOOLS_DIR or
 * ~/.cache/nacre/tools), running build-tools.sh to build any that are missing. Results are
 * remembered for the life of the process. Rejects with a NacreError('ToolBuildFailed') carrying
 * the script's stderr when a build fails.
 */
export async function toolPaths(names: readonly ToolName[], signal?: AbortSignal): Promise<string[]> {
  const missing = names.filter((n) => !resolved.has(n));
  if (missing.length > 0) {
    const stdout = await runBuildTools(['--path', ...missing], signal);
    const paths = stdout.split('\n').filter((l) => l.length > 0);
    if (paths.length !== missing.length) {
      throw new NacreError(
        'ToolBuildFailed',
        `build-tools.sh printed ${paths.length} paths for ${missing.length} tools`,
      );
    }
    missing.forEach((name, i) => {
      resolved.set(name, paths[i]!);
    });
  }
  return names.map((n) => resolved.get(n)!);
}

/** The path of one tool's binary; see toolPaths. */
export async function toolPath(name: ToolName, signal?: AbortSignal): Promise<string> {
  const [path] = await toolPaths([name], signal);
  return path!;
}

/** Every tool, built if missing, keyed as ToolPaths. */
export async function allToolPaths(signal?: AbortSignal): Promise<ToolPaths> {
  const [kubeApiserver, kubeControllerManager, kubectl, etcd, csiSanity, provisioner, helm, minio] =
    await toolPaths(CLUSTER_TOOLS, signal);
  return {
    kubeApiserver: kubeApiserver!,
    kubeControllerManager: kubeControllerManager!,
    kubectl: kubectl!,
    etcd: etcd!,
    csiSanity: csiSanity!,
    provisioner: provisioner!,
    helm: helm!,
    minio: minio!,
  };
}

function runBuildTools(args: string[], signal?: AbortSignal): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      'bash',
      [BUILD_TOOLS_SCRIPT, ...args],
      { timeout: BUILD_DEADLINE_MS, maxBuffer: 1 << 20, ...(signal ? { signal } : {}) },
      (err, stdout, stderr) => {
        if (err === null) {
          resolve(stdout);
        } else if (err.killed && err.signal === 'SIGTERM' && !signal?.aborted) {
          reject(
            new DeadlineExceededError(`build-tools.sh ran past ${BUILD_DEADLINE_MS} ms`, { cause: err }),
          );
        } else {
          reject(
            new NacreError('ToolBuildFailed', `build-tools.sh ${args.join(' ')} failed:\n${stderr}`, {
              cause: err,
            }),
          );
        }
      },
    );
    // Build progress is worth seeing while a test waits for it.
    child.stderr?.on('data', (chunk: Buffer) => process.stderr.write(chunk));
  });
}
