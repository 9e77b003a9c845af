// What a failed install test prints before its cluster goes: the claims and their events, the provisioner's log, every log's tail.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { logTail } from '../harness/processes.ts';

/**
 * A report to read when a step of the install test failed: claims, volumes and FileSystems, the
 * last events of every namespace, the end of the CSI provisioner's and the controller's logs, and
 * the tail of every other log in `logDirs` (the release's pods, the control plane's servers).
 * Every log of a pod started again (`<pod>-<container>.<n>.log`) is there too.
 * Never throws: what cannot be read says so.
 */
export async function failureReport(
  kubectl: (args: string[]) => Promise<string>,
  logDirs: string[],
): Promise<string> {
  const out: string[] = [];
  const section = async (title: string, text: () => Promise<string>) => {
    const body = await text().catch(
      (err: unknown) => `(cannot read: ${err instanceof Error ? err.message : err})`,
    );
    out.push(`--- ${title}\n${body.trimEnd()}`);
  };
  await section('claims, volumes, FileSystems', () =>
    kubectl(['get', 'pvc,pv,filesystems.fsx.nacre.dev', '-A', '-o', 'wide']),
  );
  await section('FileSystem statuses', () =>
    kubectl([
      'get',
      'filesystems.fsx.nacre.dev',
      '-A',
      '-o',
      'jsonpath={range .items[*]}{.metadata.namespace}/{.metadata.name} {.status}{"\\n"}{end}',
    ]),
  );
  await section('last events', async () =>
    (await kubectl(['get', 'events', '-A', '--sort-by=.lastTimestamp']))
      .trimEnd()
      .split('\n')
      .slice(-40)
      .join('\n'),
  );
  const wanted = ['csi-provisioner', 'nacre-controller-0-nacre', 'kube-controller-manager'];
  for (const logDir of logDirs) {
    // The API server's audit log (a JSON line per request) stays on disk only.
    const files = (await readdir(logDir).catch(() => []))
      .filter((f) => f.endsWith('.log') && f !== 'audit.log')
      .sort();
    for (const f of files) {
      const long = wanted.some((w) => f.includes(w));
      out.push(`--- ${join(logDir, f)} ends:\n${await logTail(join(logDir, f), long ? 60 : 10)}`);
    }
  }
  return out.join('\n');
}
