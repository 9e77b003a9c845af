// The images the external storage suite's pods run, written as archives without a registry: busybox, agnhost and pause under the names e2e.test asks for.
import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { busyboxImage, type ImageSpec, pauseImage, writeImageArchive } from '../harness/oci-image.ts';
import { toolPaths } from '../harness/tools.ts';

/**
 * Names as `e2e.test --list-images` prints them for k8s v1.37.2. The storage specs run busybox
 * (`sh -c` with dd, cat, mount), agnhost (subPath's mounttest, and the HostExec pods that look at a
 * node's mounts through nsenter) and pause (pods that only hold a volume). multiVolume's
 * concurrent-access pods run glibc-dns-testing and volumes' exec spec nginx, both only for a shell
 * with base64, dd and sha256sum: busybox under their names serves them.
 */
const BUSYBOX = [
  'registry.k8s.io/e2e-test-images/busybox:1.37.0-2',
  'registry.k8s.io/e2e-test-images/busybox:1.36.1-1',
  'registry.k8s.io/e2e-test-images/glibc-dns-testing:2.1.1',
  'registry.k8s.io/e2e-test-images/nginx:1.27.0-2',
];
const AGNHOST = ['registry.k8s.io/e2e-test-images/agnhost:2.66.1'];
const PAUSE = ['registry.k8s.io/pause:3.10.2'];

/** agnhost's own image is its binary on a busybox base, entrypoint /agnhost (the suite's pods name their command). */
async function agnhostImage(name: string, agnhost: string, applets: readonly string[]): Promise<ImageSpec> {
  const base = await busyboxImage(name, '/bin/busybox', applets);
  return {
    ...base,
    entries: [...base.entries, { type: 'file', path: 'agnhost', mode: 0o755, data: await readFile(agnhost) }],
    entrypoint: ['/agnhost'],
    cmd: ['pause'],
  };
}

/**
 * Writes one archive per image name into `dir` (agnhost is built first when the tool cache has
 * none: build-tools.sh agnhost, ~70 s) and returns their paths, for every node's containerd.
 */
export async function suiteImages(dir: string, signal?: AbortSignal): Promise<string[]> {
  const [agnhost, pause] = await toolPaths(['agnhost', 'pause'], signal);
  const applets = execFileSync('/bin/busybox', ['--list'], { encoding: 'utf8', timeout: 10_000 }).split('\n');
  const archives: string[] = [];
  const write = async (name: string, spec: ImageSpec) => {
    const archive = join(dir, `${name.replace(/[^a-z0-9.-]+/g, '_')}.tar`);
    await writeImageArchive(archive, spec);
    archives.push(archive);
  };
  for (const name of BUSYBOX) await write(name, await busyboxImage(name, '/bin/busybox', applets));
  for (const name of AGNHOST) await write(name, await agnhostImage(name, agnhost!, applets));
  for (const name of PAUSE) await write(name, await pauseImage(name, pause!));
  return archives;
}
