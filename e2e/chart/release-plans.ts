// Which pods of the chart the install test runs as local processes, on which of its two "nodes", in start order.
import type { PodPlan } from './local-release.ts';

/** The release's pods: the emulator's MGS and MDS, per node its OSSes, mount holder and plugin, then the controller. */
export function releasePlans(ns: string): PodPlan[] {
  return [
    {
      kind: 'StatefulSet',
      workload: 'nacre-mgs',
      pod: 'nacre-mgs-0',
      node: 'node-a',
      containers: ['mgs', 'api'],
      hosts: [`nacre-mgs.${ns}.svc`, `nacre-api.${ns}.svc`],
    },
    {
      kind: 'StatefulSet',
      workload: 'nacre-mds',
      pod: 'nacre-mds-0',
      node: 'node-a',
      containers: ['mds'],
      hosts: [`nacre-mds-0.nacre-mds.${ns}.svc`],
    },
    // On each node: its OSSes, the mount holder, then the node plugin (which asks the holder to mount).
    ...(
      [
        ['nacre-node-oss', ['oss', 'oss-1']],
        ['nacre-mounter', ['nacre']],
        ['nacre-node', ['nacre']],
      ] as const
    ).flatMap(([workload, containers]) =>
      ['a', 'b'].map((n) => ({
        kind: 'DaemonSet' as const,
        workload,
        pod: `${workload}-${n}`,
        node: `node-${n}`,
        containers: [...containers],
        hosts: [],
      })),
    ),
    {
      kind: 'Deployment',
      workload: 'nacre-controller',
      pod: 'nacre-controller-0',
      node: 'node-a',
      containers: ['nacre', 'csi-provisioner', 'csi-resizer', 'csi-snapshotter'],
      hosts: [],
    },
  ];
}
