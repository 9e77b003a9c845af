// CLI over cluster.ts: a long-lived local control plane in <repo>/.local-cluster (up | down | status | env).
//
// Env: NACRE_LOCAL_CLUSTER_MINIO=0 skips MinIO; NACRE_MINIO_WEBHOOK_<ID>=<url> adds a MinIO webhook
// notification target <id> (ARN arn:minio:sqs::<id>:webhook); NACRE_TOOLS_DIR moves the tool cache.
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type ClusterState, clusterStatus, loadClusterState, startCluster } from './cluster.ts';
import { kubectl, loadNodesState, startNodeCluster, stopNodesInDir } from './nodes.ts';
import { isAlive } from './processes.ts';
import { toolPath } from './tools.ts';

const DIR = join(import.meta.dirname, '..', '..', '.local-cluster');

const USAGE = `usage: node e2e/harness/local-cluster.ts up [--no-minio] [--nodes N] | down | status | env
  up      start etcd, kube-apiserver, kube-controller-manager and MinIO on 127.0.0.1, detached;
          with --nodes N (1-7), also kube-scheduler and N kubelet nodes (containerd, runc, CNI) in
          network namespaces on a host bridge, the API server on the bridge's address (needs root)
  down    stop everything 'up' started and remove its state (logs stay in .local-cluster/logs)
  status  show each server and whether the API server is ready (exit 1 if not)
  env     print the export lines for KUBECONFIG and MinIO`;

function say(line: string): void {
  process.stderr.write(`local-cluster: ${line}\n`);
}

function exportLines(state: ClusterState): string {
  const lines = [`export KUBECONFIG=${state.kubeconfigPath}`];
  if (state.minio) {
    lines.push(
      `export AWS_ENDPOINT_URL=${state.minio.endpoint}`,
      `export AWS_ACCESS_KEY_ID=${state.minio.accessKey}`,
      `export AWS_SECRET_ACCESS_KEY=${state.minio.secretKey}`,
      `export AWS_REGION=${state.minio.region}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

function minioWebhooks(): Record<string, string> {
  const hooks: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    const m = /^NACRE_MINIO_WEBHOOK_([A-Za-z0-9_]+)$/.exec(key);
    if (m && value) hooks[m[1]!.toLowerCase()] = value;
  }
  return hooks;
}

async function up(noMinio: boolean, nodes: number): Promise<number> {
  const existing = await loadClusterState(DIR);
  if (existing) {
    const status = await clusterStatus(existing);
    if (status.apiserverReady && status.processes.every((p) => p.alive)) {
      say(`already up at ${existing.server}`);
      process.stdout.write(exportLines(existing));
      return 0;
    }
    say('a previous cluster is half up: stopping it first');
    await stopNodesInDir(DIR);
  }
  const withMinio = !noMinio && process.env['NACRE_LOCAL_CLUSTER_MINIO'] !== '0';
  const ac = new AbortController();
  const onSignal = () => ac.abort(new Error('interrupted'));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const started = Date.now();
  if (nodes > 0) {
    const withNodes = await startNodeCluster({
      dir: DIR,
      keep: true,
      count: nodes,
      minio: withMinio ? { webhooks: minioWebhooks() } : false,
      signal: ac.signal,
      progress: say,
    });
    say(
      `up with ${nodes} nodes in ${((Date.now() - started) / 1000).toFixed(1)} s; logs in ${join(DIR, 'logs')}`,
    );
    process.stdout.write(exportLines(withNodes.cluster.state));
    return 0;
  }
  const cluster = await startCluster({
    dir: DIR,
    keep: true,
    minio: withMinio ? { webhooks: minioWebhooks() } : false,
    signal: ac.signal,
    progress: say,
  });
  say(`up in ${((Date.now() - started) / 1000).toFixed(1)} s; logs in ${join(DIR, 'logs')}`);
  process.stdout.write(exportLines(cluster.state));
  return 0;
}

async function down(): Promise<number> {
  const state = await loadClusterState(DIR);
  const nodes = await loadNodesState(DIR);
  if (!state && !nodes) {
    say('nothing to stop');
    return 0;
  }
  await stopNodesInDir(DIR);
  say(
    `stopped ${[...(nodes?.nodes.map((n) => n.name) ?? []), ...(state?.processes.map((p) => p.name) ?? [])].join(', ')}`,
  );
  return 0;
}

async function status(): Promise<number> {
  const state = await loadClusterState(DIR);
  if (!state) {
    say('down');
    return 1;
  }
  const s = await clusterStatus(state);
  for (const p of s.processes) {
    process.stdout.write(
      `${p.name.padEnd(24)} pid ${String(p.pid).padEnd(8)} ${p.alive ? 'running' : 'EXITED'}  ${p.logFile}\n`,
    );
  }
  process.stdout.write(`api server ${state.server} ${s.apiserverReady ? 'ready' : 'NOT READY'}\n`);
  if (state.minio) process.stdout.write(`minio ${state.minio.endpoint}\n`);
  const nodes = await loadNodesState(DIR);
  let nodesAlive = true;
  if (nodes) {
    const daemons = [
      ...(nodes.scheduler ? [nodes.scheduler] : []),
      ...nodes.nodes.flatMap((n) => n.processes),
    ];
    for (const p of daemons) {
      const alive = await isAlive(p);
      nodesAlive &&= alive;
      process.stdout.write(
        `${p.name.padEnd(24)} pid ${String(p.pid).padEnd(8)} ${alive ? 'running' : 'EXITED'}  ${p.logFile}\n`,
      );
    }
    const cluster = { kubeconfigPath: state.kubeconfigPath, tools: { kubectl: await toolPath('kubectl') } };
    const out = await kubectl(cluster, ['get', 'nodes', '-o', 'wide']).catch(
      (e: unknown) => `${String(e)}\n`,
    );
    process.stdout.write(out);
  }
  return s.apiserverReady && s.processes.every((p) => p.alive) && nodesAlive ? 0 : 1;
}

async function env(): Promise<number> {
  const state = await loadClusterState(DIR);
  if (!state) {
    say('down: run `up` first');
    return 1;
  }
  process.stdout.write(exportLines(state));
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      'no-minio': { type: 'boolean', default: false },
      nodes: { type: 'string', default: '0' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [command, ...rest] = positionals;
  if (values.help || rest.length > 0) {
    process.stderr.write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  switch (command) {
    case 'up':
      return up(values['no-minio'], Number(values.nodes));
    case 'down':
      return down();
    case 'status':
      return status();
    case 'env':
      return env();
    default:
      process.stderr.write(`${USAGE}\n`);
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    say(err instanceof Error ? err.message : String(err));
    process.exitCode = 1;
  },
);
