// Nacre as its chart deploys it, on two kubelet nodes: a PVC shared by pods on both nodes, clean unmounts, a node-plugin restart under I/O.
// Run by `npm run test:nodes` (not part of `npm test`). NACRE_IMAGE_ARCHIVE picks an image archive instead of building one.
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ExecRunner } from '../../src/lib/command-runner.ts';
import { waitFor } from '../../src/lib/wait-for.ts';
import { BUSYBOX_IMAGE, kubectl, leftovers, type NodeCluster, startNodeCluster } from '../harness/nodes.ts';
import { toolPath } from '../harness/tools.ts';
import {
  archiveImageName,
  CHART,
  localVolumes,
  nacreImage,
  releaseValues,
  sidecarImages,
  writeJson,
} from './nacre-release.ts';

const NS = 'nacre';
let nc: NodeCluster;
const k = (args: string[], timeoutMs = 90_000) => kubectl(nc.cluster, args, AbortSignal.timeout(timeoutMs));
const runner = new ExecRunner();

async function apply(name: string, value: object): Promise<void> {
  await k(['apply', '-f', await writeJson(join(nc.nodes.dir, `${name}.json`), value)]);
}

async function waitRollout(kind: string, name: string): Promise<void> {
  await k(['-n', NS, 'rollout', 'status', `${kind}/${name}`, '--timeout=300s'], 320_000);
}

/** The node DaemonSet updates OnDelete (rollout status refuses it): wait for a Ready pod on every node. */
async function waitNodePlugins(): Promise<void> {
  await waitFor(
    'a Ready node plugin on every node',
    async () => {
      const status = await k([
        '-n',
        NS,
        'get',
        'daemonset',
        'nacre-node',
        '-o',
        'jsonpath={.status.numberReady}/{.status.desiredNumberScheduled}',
      ]);
      return status === `${nc.nodes.nodes.length}/${nc.nodes.nodes.length}`;
    },
    { timeoutMs: 300_000, intervalMs: 1000 },
  );
}

/** Mounts of a Nacre volume in the node's own mount namespace (what its pods see). */
async function nacreMounts(node: NodeCluster['nodes']['nodes'][number]): Promise<string[]> {
  // The node's PID 1 is in its mount namespace: its mountinfo is the node's mount table.
  const mountinfo = await readFile(`/proc/${node.initPid}/mountinfo`, 'utf8');
  return mountinfo
    .split('\n')
    .map((l) => ({ target: l.split(' ')[4] ?? '', fstype: l.split(' - ')[1]?.split(' ')[0] ?? '' }))
    .filter((m) => m.target.includes('/kubelet/pods/') && m.fstype.startsWith('fuse'))
    .map((m) => m.target);
}

/** The last lines of the node's FUSE keeper and daemon logs (in its state dir, seen through its mount namespace). */
async function mountLogs(node: NodeCluster['nodes']['nodes'][number]): Promise<string> {
  const dir = `/proc/${node.initPid}/root${join(nc.nodes.nodeRoot, 'nacre', 'node', 'logs')}`;
  const names = await readdir(dir).catch(() => [] as string[]);
  const tails = await Promise.all(
    names.map(
      async (n) => `${n}: ${(await readFile(join(dir, n), 'utf8')).trim().split('\n').slice(-8).join(' | ')}`,
    ),
  );
  return `FUSE logs on ${node.name}: ${tails.join(' || ') || 'none'}`;
}

function pod(name: string, node: string, command: string): object {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default' },
    spec: {
      nodeSelector: { 'kubernetes.io/hostname': node },
      terminationGracePeriodSeconds: 2,
      restartPolicy: 'Never',
      containers: [
        {
          name: 'app',
          image: BUSYBOX_IMAGE,
          imagePullPolicy: 'Never',
          command: ['sh', '-c', command],
          volumeMounts: [{ name: 'shared', mountPath: '/data' }],
        },
      ],
      volumes: [{ name: 'shared', persistentVolumeClaim: { claimName: 'shared' } }],
    },
  };
}

before(
  async () => {
    const signal = AbortSignal.timeout(40 * 60_000);
    const work = await mkdtemp(join(tmpdir(), 'nacre-images-'));
    const nacre = await nacreImage(process.env['NACRE_IMAGE_ARCHIVE'], signal);
    const sidecars = await sidecarImages(work, signal);
    nc = await startNodeCluster({
      count: 2,
      images: [nacre, ...sidecars.archives],
      signal,
      progress: (m) => console.log(m),
    });
    await apply('local-pvs', await localVolumes(nc.nodes, 2, '10Gi'));
    const values = await writeJson(
      join(nc.nodes.dir, 'values.json'),
      releaseValues(nc.nodes, await archiveImageName(nacre, signal), sidecars.values),
    );
    const helm = await toolPath('helm', signal);
    const r = await runner.run(
      helm,
      [
        '--kubeconfig',
        nc.cluster.kubeconfigPath,
        'install',
        'nacre',
        CHART,
        '-n',
        NS,
        '--create-namespace',
        '-f',
        values,
      ],
      { timeoutMs: 300_000, signal },
    );
    assert.equal(r.code, 0, r.stderr);
  },
  { timeout: 45 * 60_000 },
);

after(async () => {
  await nc?.stop();
});

test('the chart runs as real pods: controller, emulator servers, a node plugin per node registered with its kubelet', {
  timeout: 600_000,
}, async () => {
  await waitNodePlugins();
  await waitRollout('deployment', 'nacre-controller');
  const csiNodes = await waitFor(
    'both kubelets to list csi.nacre.dev in their CSINode',
    async () => {
      const out = await k([
        'get',
        'csinode',
        '-o',
        'jsonpath={range .items[*]}{.metadata.name}={.spec.drivers[*].name}{"\\n"}{end}',
      ]);
      const ok = nc.nodes.nodes.every((n) => out.includes(`${n.name}=csi.nacre.dev`));
      return ok ? out : undefined;
    },
    { timeoutMs: 120_000, intervalMs: 1000 },
  );
  assert.match(csiNodes, /nacre-node-1=csi\.nacre\.dev/);
  await waitRollout('statefulset', 'nacre-mgs');
  await waitRollout('statefulset', 'nacre-mds');
  const list = () =>
    k([
      '-n',
      NS,
      'get',
      'pods',
      '-o',
      'jsonpath={range .items[*]}{.metadata.name} {.status.phase} {.spec.nodeName}{"\\n"}{end}',
    ]);
  const pods = await waitFor(
    'every pod of the release Running on a node',
    async () => {
      const out = (await list()).trim();
      return out.split('\n').every((l) => / Running nacre-node-\d$/.test(l)) ? out : undefined;
    },
    { timeoutMs: 300_000, intervalMs: 1000 },
  );
  for (const w of ['nacre-controller', 'nacre-mgs-0', 'nacre-mds-0'])
    assert.match(pods, new RegExp(`^${w}`, 'm'));
});

/** A writer that appends a numbered line every 0.2 s and stops (failing its pod) at the first write error. */
const WRITER =
  'i=0; while echo "line $i" >> /data/log; do i=$((i+1)); sleep 0.2; done; echo WRITE-FAILED; exit 1';

async function waitRunning(name: string): Promise<void> {
  await waitFor(
    `${name} Running`,
    async () => (await k(['get', 'pod', name, '-o', 'jsonpath={.status.phase}'])) === 'Running',
    { timeoutMs: 300_000, intervalMs: 1000 },
  );
}

/** Lines in /data/log as `pod` sees them. */
async function lines(pod: string): Promise<number> {
  return Number((await k(['exec', pod, '--', 'sh', '-c', 'wc -l < /data/log'])).trim());
}

test('a pod on node 1 writes, a pod on node 2 reads it while it runs; deleting them unmounts the volume on both nodes', {
  timeout: 900_000,
}, async () => {
  const [a, b] = nc.nodes.nodes;
  assert.ok(a && b);
  await apply('pvc', {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: 'shared', namespace: 'default' },
    spec: {
      accessModes: ['ReadWriteMany'],
      storageClassName: 'nacre',
      resources: { requests: { storage: '1200Gi' } },
    },
  });
  await waitFor(
    'PVC shared Bound',
    async () => (await k(['get', 'pvc', 'shared', '-o', 'jsonpath={.status.phase}'])) === 'Bound',
    { timeoutMs: 300_000, intervalMs: 1000 },
  );
  await apply('writer', pod('writer', a.name, WRITER));
  await apply('reader', pod('reader', b.name, 'sleep 3600'));
  await waitRunning('writer');
  await waitRunning('reader');
  const seen = await waitFor(
    "the reader on node 2 to see the writer's lines",
    async () => {
      const n = await lines('reader');
      return n > 3 ? n : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 500 },
  );
  // Still growing while the writer runs: the reader is not served a stale copy.
  await waitFor('the reader to see new lines', async () => (await lines('reader')) > seen + 5, {
    timeoutMs: 30_000,
    intervalMs: 500,
  });
  assert.ok((await nacreMounts(a)).length > 0, `${a.name} has the volume mounted`);
  assert.ok((await nacreMounts(b)).length > 0, `${b.name} has the volume mounted`);
  await k(['delete', 'pod', 'writer', 'reader', '--wait=true', '--timeout=180s'], 200_000);
  for (const node of [a, b])
    await waitFor(`no Nacre mount left on ${node.name}`, async () => (await nacreMounts(node)).length === 0, {
      timeoutMs: 60_000,
      intervalMs: 500,
    });
});

test("deleting the node plugin pod on node 1 (the DaemonSet restarts it) does not break a running pod's I/O", {
  timeout: 900_000,
}, async () => {
  const [a] = nc.nodes.nodes;
  assert.ok(a);
  await apply('writer2', pod('writer2', a.name, WRITER));
  await waitRunning('writer2');
  await waitFor('writer2 to write', async () => (await lines('writer2')) > 3, {
    timeoutMs: 60_000,
    intervalMs: 500,
  });
  const pluginOnA = async () =>
    (
      await k([
        ...['-n', NS, 'get', 'pods', '--field-selector', `spec.nodeName=${a.name}`],
        ...['-l', 'app.kubernetes.io/component=node', '-o'],
        'jsonpath={range .items[*]}{.metadata.name} {.status.containerStatuses[*].ready}{"\\n"}{end}',
      ])
    ).trim();
  const pluginPod = (await pluginOnA()).split(' ')[0]!;
  // The writer's pace undisturbed, measured the same way just before: the baseline of the cost below.
  const baseFrom = [await lines('writer2'), Date.now()] as const;
  await waitFor('writer2 to write 25 more lines', async () => (await lines('writer2')) >= baseFrom[0] + 25, {
    timeoutMs: 60_000,
    intervalMs: 250,
  });
  const linesAtDelete = await lines('writer2');
  const deletedAt = Date.now();
  const baseRate = (linesAtDelete - baseFrom[0]) / (deletedAt - baseFrom[1]);
  await k(['-n', NS, 'delete', 'pod', pluginPod, '--wait=true', '--timeout=120s'], 150_000);
  const goneMs = Date.now() - deletedAt;
  await waitFor(
    `a new Ready node plugin on ${a.name}`,
    async () => {
      const [name, ...ready] = (await pluginOnA()).split(/\s+/);
      return (
        name !== undefined &&
        name !== '' &&
        name !== pluginPod &&
        ready.length > 0 &&
        ready.every((r) => r === 'true')
      );
    },
    { timeoutMs: 300_000, intervalMs: 1000 },
  );
  const readyMs = Date.now() - deletedAt;
  const linesAtReady = await lines('writer2').catch(() => undefined);
  // What the restart cost: the writer appends a line every 0.2 s (at most 5 per second).
  const wrote = linesAtReady === undefined ? undefined : linesAtReady - linesAtDelete;
  console.log(
    `# plugin pod deleted in ${goneMs} ms, a new one Ready after ${readyMs} ms; the writer ` +
      (wrote === undefined
        ? 'could not be read then'
        : `wrote ${wrote} lines meanwhile, ×${(wrote / readyMs / baseRate).toFixed(2)} of its pace just before`),
  );
  const writer = async () => {
    const phase = await k(['get', 'pod', 'writer2', '-o', 'jsonpath={.status.phase}']);
    const log = await k(['logs', 'writer2', '--tail=5']).catch((e: unknown) => String(e));
    return `writer2 ${phase}; its log ends: ${log.trim()}; ${await mountLogs(a)}`;
  };
  const before = await lines('writer2').catch(() => -1);
  try {
    await waitFor(
      'writer2 to keep writing after the plugin restart',
      async () => (await lines('writer2')) > before + 10,
      {
        timeoutMs: 60_000,
        intervalMs: 500,
        retryErrors: true,
      },
    );
  } catch (err) {
    assert.fail(`${(err as Error).message}; ${await writer()}`);
  }
  assert.equal(
    await k(['get', 'pod', 'writer2', '-o', 'jsonpath={.status.phase}']),
    'Running',
    await writer(),
  );
  await k(['delete', 'pod', 'writer2', '--wait=true', '--timeout=180s'], 200_000);
  await waitFor(`no Nacre mount left on ${a.name}`, async () => (await nacreMounts(a)).length === 0, {
    timeoutMs: 60_000,
    intervalMs: 500,
  });
});

test('down leaves nothing behind', { timeout: 180_000 }, async () => {
  const state = nc.nodes;
  await nc.stop();
  assert.deepEqual(await leftovers(state), []);
});
