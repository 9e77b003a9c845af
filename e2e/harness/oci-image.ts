// Single-layer OCI image archives written without a Docker engine: a ustar layer, its config, an OCI layout (+ docker manifest.json).
import { createHash } from 'node:crypto';
import { readFile, rename, writeFile } from 'node:fs/promises';
import { ValidationError } from '../../src/lib/errors.ts';

/** One entry of a layer: a directory, a regular file (with its bytes) or a symbolic link. */
export type LayerEntry =
  | { type: 'dir'; path: string; mode: number }
  | { type: 'file'; path: string; mode: number; data: Buffer }
  | { type: 'symlink'; path: string; target: string };

export interface ImageSpec {
  /** The full reference containerd files it under, e.g. `nacre.local/pause:1`. */
  name: string;
  entries: LayerEntry[];
  entrypoint?: string[];
  cmd?: string[];
  env?: string[];
  workingDir?: string;
}

const BLOCK = 512;
const FIXED_MTIME = 0;

/** A POSIX ustar archive of `entries` (owner root, fixed mtime, so equal input gives equal bytes). */
export function ustar(
  entries: readonly { path: string; header: Partial<TarHeader>; data?: Buffer }[],
): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const data = e.data ?? Buffer.alloc(0);
    parts.push(tarHeader({ ...e.header, path: e.path, size: data.length }));
    parts.push(data);
    const pad = (BLOCK - (data.length % BLOCK)) % BLOCK;
    if (pad) parts.push(Buffer.alloc(pad));
  }
  parts.push(Buffer.alloc(BLOCK * 2));
  return Buffer.concat(parts);
}

interface TarHeader {
  path: string;
  size: number;
  mode: number;
  /** '0' file, '2' symlink, '5' directory. */
  typeflag: '0' | '2' | '5';
  linkname: string;
}

function tarHeader(h: Partial<TarHeader> & { path: string; size: number }): Buffer {
  const buf = Buffer.alloc(BLOCK);
  let name = h.path;
  let prefix = '';
  if (Buffer.byteLength(name) > 100) {
    const cut = name.lastIndexOf('/', 155);
    if (cut <= 0 || Buffer.byteLength(name.slice(cut + 1)) > 100)
      throw new ValidationError(`tar: path too long for ustar: ${name}`);
    prefix = name.slice(0, cut);
    name = name.slice(cut + 1);
  }
  const str = (s: string, off: number, len: number) => buf.write(s, off, len, 'utf8');
  const oct = (n: number, off: number, len: number) =>
    buf.write(`${n.toString(8).padStart(len - 1, '0')}\0`, off, len, 'ascii');
  str(name, 0, 100);
  oct(h.mode ?? (h.typeflag === '2' ? 0o777 : h.typeflag === '5' ? 0o755 : 0o644), 100, 8);
  oct(0, 108, 8);
  oct(0, 116, 8);
  oct(h.typeflag === '0' || h.typeflag === undefined ? h.size : 0, 124, 12);
  oct(FIXED_MTIME, 136, 12);
  buf.fill(' ', 148, 156);
  buf.write(h.typeflag ?? '0', 156, 1, 'ascii');
  str(h.linkname ?? '', 157, 100);
  buf.write('ustar\0' + '00', 257, 8, 'ascii');
  str('root', 265, 32);
  str('root', 297, 32);
  oct(0, 329, 8);
  oct(0, 337, 8);
  str(prefix, 345, 155);
  let sum = 0;
  for (const b of buf) sum += b;
  buf.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
  return buf;
}

function layerTar(entries: readonly LayerEntry[]): Buffer {
  return ustar(
    entries.map((e) => {
      const path = e.path.replace(/^\/+/, '');
      if (e.type === 'dir') return { path: `${path}/`, header: { typeflag: '5', mode: e.mode } };
      if (e.type === 'symlink') return { path, header: { typeflag: '2', mode: 0o777, linkname: e.target } };
      return { path, header: { typeflag: '0', mode: e.mode }, data: e.data };
    }),
  );
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/**
 * The bytes of an image archive that `ctr images import` accepts: an OCI image layout whose index
 * names the image (io.containerd.image.name) plus Docker's manifest.json with the same blobs.
 */
export function imageArchive(spec: ImageSpec): Buffer {
  const layer = layerTar(spec.entries);
  const layerDigest = sha256(layer);
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: {
        ...(spec.entrypoint ? { Entrypoint: spec.entrypoint } : {}),
        ...(spec.cmd ? { Cmd: spec.cmd } : {}),
        Env: spec.env ?? ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
        ...(spec.workingDir ? { WorkingDir: spec.workingDir } : {}),
      },
      rootfs: { type: 'layers', diff_ids: [`sha256:${layerDigest}`] },
    }),
  );
  const configDigest = sha256(config);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: {
        mediaType: 'application/vnd.oci.image.config.v1+json',
        digest: `sha256:${configDigest}`,
        size: config.length,
      },
      layers: [
        {
          mediaType: 'application/vnd.oci.image.layer.v1.tar',
          digest: `sha256:${layerDigest}`,
          size: layer.length,
        },
      ],
    }),
  );
  const manifestDigest = sha256(manifest);
  const tag = spec.name.slice(spec.name.lastIndexOf(':') + 1);
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: `sha256:${manifestDigest}`,
          size: manifest.length,
          annotations: { 'io.containerd.image.name': spec.name, 'org.opencontainers.image.ref.name': tag },
        },
      ],
    }),
  );
  const dockerManifest = Buffer.from(
    JSON.stringify([
      {
        Config: `blobs/sha256/${configDigest}`,
        RepoTags: [spec.name],
        Layers: [`blobs/sha256/${layerDigest}`],
      },
    ]),
  );
  const file = (path: string, data: Buffer) => ({ path, header: { typeflag: '0' as const }, data });
  return ustar([
    { path: 'blobs/', header: { typeflag: '5', mode: 0o755 } },
    { path: 'blobs/sha256/', header: { typeflag: '5', mode: 0o755 } },
    file(`blobs/sha256/${layerDigest}`, layer),
    file(`blobs/sha256/${configDigest}`, config),
    file(`blobs/sha256/${manifestDigest}`, manifest),
    file('oci-layout', Buffer.from('{"imageLayoutVersion":"1.0.0"}')),
    file('index.json', index),
    file('manifest.json', dockerManifest),
  ]);
}

/** Writes `spec`'s archive to `path` (atomically, via a temporary file beside it). */
export async function writeImageArchive(path: string, spec: ImageSpec): Promise<void> {
  await writeFile(`${path}.tmp`, imageArchive(spec));
  await rename(`${path}.tmp`, path);
}

/** The pod sandbox image: the static pause program (build-tools.sh pause) as /pause. */
export async function pauseImage(name: string, pauseBinary: string): Promise<ImageSpec> {
  return {
    name,
    entries: [{ type: 'file', path: 'pause', mode: 0o755, data: await readFile(pauseBinary) }],
    entrypoint: ['/pause'],
  };
}

/**
 * A small shell image from a static busybox: /bin/busybox, a /bin/<applet> link for every applet
 * it lists, and the usual empty directories.
 */
export async function busyboxImage(
  name: string,
  busybox: string,
  applets: readonly string[],
): Promise<ImageSpec> {
  const dirs = ['bin', 'etc', 'root', 'tmp', 'var', 'proc', 'sys', 'dev'];
  return {
    name,
    entries: [
      ...dirs.map((d): LayerEntry => ({ type: 'dir', path: d, mode: d === 'tmp' ? 0o1777 : 0o755 })),
      { type: 'file', path: 'bin/busybox', mode: 0o755, data: await readFile(busybox) },
      ...applets
        .filter((a) => /^[a-z0-9_.[-]+$/.test(a) && a !== 'busybox')
        .map((a): LayerEntry => ({ type: 'symlink', path: `bin/${a}`, target: 'busybox' })),
    ],
    cmd: ['/bin/sh'],
  };
}
