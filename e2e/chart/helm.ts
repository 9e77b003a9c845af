// Rendering and installing charts/nacre with the harness's helm and kubectl: commands with deadlines, manifests parsed into objects.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { NacreError } from '../../src/lib/errors.ts';

export const CHART_DIR = join(import.meta.dirname, '..', '..', 'charts', 'nacre');
/** The Kubernetes version the harness runs, for helm commands without a cluster. */
export const KUBE_VERSION = 'v1.37.2';

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [key: string]: unknown;
}

/** Runs a tool to completion within `timeoutMs`; rejects with its stderr when it fails. */
export function run(
  command: string,
  args: string[],
  opts: { input?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv; signal?: AbortSignal } = {},
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      command,
      args,
      {
        timeout: opts.timeoutMs ?? 120_000,
        maxBuffer: 64 * 1024 * 1024,
        env: opts.env ?? process.env,
        ...(opts.signal && { signal: opts.signal }),
      },
      (err, stdout, stderr) => {
        if (err) {
          const what = `${command.split('/').pop()} ${args.slice(0, 3).join(' ')}`;
          reject(
            new NacreError('CommandFailed', `${what} failed: ${stderr.trim() || err.message}`, {
              cause: err,
            }),
          );
        } else resolve(stdout);
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** Every object of a multi-document YAML stream (empty documents dropped). */
export function parseManifests(text: string): KubeObject[] {
  const out: KubeObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new NacreError('BadManifest', `manifest: ${doc.errors[0]?.message}`);
    const obj = doc.toJSON() as KubeObject | null;
    if (obj) out.push(obj);
  }
  return out;
}

/** `helm template` of the chart with these values files and --set flags (no cluster: CRDs included). */
export async function renderChart(
  helm: string,
  opts: {
    valuesFiles?: string[];
    set?: string[];
    apiVersions?: string[];
    namespace?: string;
    release?: string;
  } = {},
): Promise<KubeObject[]> {
  const args = [
    'template',
    opts.release ?? 'nacre',
    CHART_DIR,
    '--namespace',
    opts.namespace ?? 'nacre-system',
    '--kube-version',
    KUBE_VERSION,
    '--include-crds',
  ];
  for (const f of opts.valuesFiles ?? []) args.push('--values', f);
  for (const s of opts.set ?? []) args.push('--set', s);
  for (const a of opts.apiVersions ?? []) args.push('--api-versions', a);
  return parseManifests(await run(helm, args));
}

/** The one object of `kind` named `name`; throws naming what exists when it is not there. */
export function find(objects: KubeObject[], kind: string, name: string): KubeObject {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) {
    const names = objects.filter((o) => o.kind === kind).map((o) => o.metadata.name);
    throw new NacreError(
      'NotFound',
      `no ${kind} ${name} in the manifests (there are: ${names.join(', ') || 'none'})`,
    );
  }
  return found;
}

export interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: EnvVar[];
  ports?: { name?: string; containerPort: number }[];
  volumeMounts?: { name: string; mountPath: string; mountPropagation?: string }[];
  securityContext?: Record<string, unknown>;
  readinessProbe?: { httpGet?: { path: string; port: string | number } };
  livenessProbe?: { httpGet?: { path: string; port: string | number } };
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    fieldRef?: { fieldPath: string };
    secretKeyRef?: { name: string; key: string };
  };
}

export interface Volume {
  name: string;
  hostPath?: { path: string; type?: string };
  emptyDir?: object;
  persistentVolumeClaim?: { claimName: string };
  secret?: { secretName: string; defaultMode?: number };
}

export interface PodSpec {
  serviceAccountName?: string;
  automountServiceAccountToken?: boolean;
  containers: Container[];
  volumes?: Volume[];
  securityContext?: Record<string, unknown>;
}

/** The pod template of a Deployment, StatefulSet or DaemonSet. */
export function podSpec(workload: KubeObject): PodSpec {
  const spec = workload['spec'] as { template?: { spec?: PodSpec } } | undefined;
  if (!spec?.template?.spec)
    throw new NacreError('BadManifest', `${workload.kind} ${workload.metadata.name} has no pod template`);
  return spec.template.spec;
}

/** The named container of a workload's pod template. */
export function container(workload: KubeObject, name: string): Container {
  const c = podSpec(workload).containers.find((x) => x.name === name);
  if (!c)
    throw new NacreError('NotFound', `${workload.kind} ${workload.metadata.name} has no container ${name}`);
  return c;
}
