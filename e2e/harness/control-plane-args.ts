// The command lines of the control plane's servers: etcd, kube-apiserver (with its audit log), kube-controller-manager, and MinIO's environment.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ValidationError } from '../../src/lib/errors.ts';
import type { ClusterState, MinioEndpoint, MinioOptions } from './cluster-state.ts';
import type { Pki } from './pki.ts';

/** The API server's audit log (JSON lines, level Metadata) of a cluster started with `audit`. */
export const auditLogPath = (dir: string): string => join(dir, 'logs', 'audit.log');

export function etcdArgs(dir: string, port: number, peerPort: number): string[] {
  const peer = `http://127.0.0.1:${peerPort}`;
  const client = `http://127.0.0.1:${port}`;
  return [
    '--name=nacre',
    `--data-dir=${join(dir, 'etcd-data')}`,
    `--listen-client-urls=${client}`,
    `--advertise-client-urls=${client}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=nacre=${peer}`,
    '--unsafe-no-fsync=true',
    '--log-level=warn',
  ];
}

export function apiserverArgs(
  dir: string,
  pki: Pki,
  etcdPort: number,
  port: number,
  address: string,
): string[] {
  return [
    `--etcd-servers=http://127.0.0.1:${etcdPort}`,
    `--bind-address=${address}`,
    `--advertise-address=${address}`,
    // 1.37 refuses a loopback address in the kubernetes Service's endpoints: don't publish them
    // then; a bridge address (kubelet nodes, whose pods reach the API through the Service) is fine.
    `--endpoint-reconciler-type=${address === '127.0.0.1' ? 'none' : 'lease'}`,
    `--secure-port=${port}`,
    `--cert-dir=${join(dir, 'pki')}`,
    `--tls-cert-file=${pki.servingCert}`,
    `--tls-private-key-file=${pki.servingKey}`,
    `--client-ca-file=${pki.caCert}`,
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    `--service-account-key-file=${pki.serviceAccountPub}`,
    `--service-account-signing-key-file=${pki.serviceAccountKey}`,
    '--service-cluster-ip-range=10.0.0.0/24',
    // Node: kubelets (system:node:<name>) get what their own pods need, no more.
    '--authorization-mode=Node,RBAC',
    '--enable-admission-plugins=NodeRestriction',
    '--allow-privileged=true',
    // exec, logs and port-forward reach a kubelet at its node's InternalIP, as the admin.
    '--kubelet-preferred-address-types=InternalIP',
    `--kubelet-client-certificate=${pki.adminCert}`,
    `--kubelet-client-key=${pki.adminKey}`,
  ];
}

export async function auditArgs(dir: string): Promise<string[]> {
  const policy = join(dir, 'audit-policy.yaml');
  const rules =
    'apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [RequestReceived]\nrules:\n  - level: Metadata\n';
  await writeFile(policy, rules);
  return [`--audit-policy-file=${policy}`, `--audit-log-path=${auditLogPath(dir)}`, '--audit-log-maxsize=0'];
}

export function controllerManagerArgs(state: ClusterState, pki: Pki): string[] {
  return [
    `--kubeconfig=${state.kubeconfigPath}`,
    '--leader-elect=false',
    '--bind-address=127.0.0.1',
    '--secure-port=0',
    `--service-account-private-key-file=${pki.serviceAccountKey}`,
    `--root-ca-file=${pki.caCert}`,
    '--use-service-account-credentials=true',
    `--cluster-signing-cert-file=${pki.caCert}`,
    `--cluster-signing-key-file=${pki.caKey}`,
  ];
}

export function minioEnv(endpoint: MinioEndpoint, opts: MinioOptions): Record<string, string> {
  const env: Record<string, string> = {
    MINIO_ROOT_USER: endpoint.accessKey,
    MINIO_ROOT_PASSWORD: endpoint.secretKey,
    MINIO_BROWSER: 'off',
    MINIO_UPDATE: 'off',
  };
  // The id keeps its case in the ARN. MinIO starts even while an endpoint does not answer yet.
  for (const [id, url] of Object.entries(opts.webhooks ?? {})) {
    if (!/^[A-Za-z0-9_]+$/.test(id))
      throw new ValidationError(`MinIO webhook id '${id}' is not [A-Za-z0-9_]+`);
    env[`MINIO_NOTIFY_WEBHOOK_ENABLE_${id}`] = 'on';
    env[`MINIO_NOTIFY_WEBHOOK_ENDPOINT_${id}`] = url;
  }
  return env;
}
