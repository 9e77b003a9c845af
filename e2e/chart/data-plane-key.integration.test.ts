// The chart's data-plane key: every emulated pod that speaks to the MGS, MDS or OSS mounts the generated Secret and passes --data-plane-key-file; the aws values have none.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { toolPath } from '../harness/tools.ts';
import { CHART_DIR, find, type KubeObject, podSpec, renderChart } from './helm.ts';

const FLAG = '--data-plane-key-file=/etc/nacre/data-plane/key';
const workloads = (objs: KubeObject[]) =>
  objs.filter((o) => ['Deployment', 'StatefulSet', 'DaemonSet'].includes(o.kind));

test('every nacre container of the emulated install reads the data-plane key from the generated Secret', async () => {
  const objs = await renderChart(await toolPath('helm'), {
    valuesFiles: [join(CHART_DIR, 'ci', 'all-values.yaml')],
  });
  const secret = find(objs, 'Secret', 'nacre-data-plane');
  assert.equal(secret.metadata['annotations' as keyof typeof secret.metadata], undefined);
  const seen: string[] = [];
  for (const w of workloads(objs)) {
    const spec = podSpec(w);
    for (const c of spec.containers.filter((x) => x.command?.[0] === 'nacre')) {
      const where = `${w.metadata.name}/${c.name}`;
      seen.push(where);
      assert.ok(c.args?.includes(FLAG), `${where} passes ${FLAG}`);
      const mount = c.volumeMounts?.find((m) => m.mountPath === '/etc/nacre/data-plane');
      assert.ok(mount, `${where} mounts the key`);
      const volume = spec.volumes?.find((v) => v.name === mount.name);
      assert.deepEqual(volume?.secret, { secretName: 'nacre-data-plane', defaultMode: 0o440 }, where);
    }
  }
  for (const must of [
    'nacre-mgs/mgs',
    'nacre-mgs/api',
    'nacre-mds/mds',
    'nacre-node/nacre',
    'nacre-controller/nacre',
  ])
    assert.ok(seen.includes(must), `${must} was checked (saw ${seen.join(', ')})`);
});

test('the aws install has no data-plane key anywhere', async () => {
  const objs = await renderChart(await toolPath('helm'), {
    valuesFiles: [join(CHART_DIR, 'ci', 'aws-values.yaml')],
  });
  assert.doesNotMatch(JSON.stringify(objs), /data-plane/);
});
