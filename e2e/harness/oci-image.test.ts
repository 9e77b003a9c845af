// The image archives are what tar and an OCI reader expect: listed entries, digests that match their blobs, the image named in the index.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { imageArchive, ustar } from './oci-image.ts';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function untar(bytes: Buffer): string {
  const dir = mkdtempSync(join(tmpdir(), 'oci-image-test-'));
  writeFileSync(join(dir, 'a.tar'), bytes);
  execFileSync('tar', ['-xf', join(dir, 'a.tar'), '-C', dir]);
  return dir;
}

test('ustar: GNU tar lists files, directories, links and a long path with their modes', () => {
  const long = `${'d'.repeat(120)}/file`;
  const tar = ustar([
    { path: 'bin/', header: { typeflag: '5', mode: 0o755 } },
    { path: 'bin/tool', header: { typeflag: '0', mode: 0o755 }, data: Buffer.from('#!/bin/sh\n') },
    { path: 'bin/alias', header: { typeflag: '2', linkname: 'tool' } },
    { path: long, header: { typeflag: '0', mode: 0o600 }, data: Buffer.alloc(1000, 7) },
  ]);
  assert.equal(tar.length % 512, 0);
  const dir = mkdtempSync(join(tmpdir(), 'oci-image-test-'));
  try {
    writeFileSync(join(dir, 'a.tar'), tar);
    const listing = execFileSync('tar', ['-tvf', join(dir, 'a.tar')], { encoding: 'utf8' });
    assert.match(listing, /^drwxr-xr-x root\/root +0 .* bin\/$/m);
    assert.match(listing, /^-rwxr-xr-x root\/root +10 .* bin\/tool$/m);
    assert.match(listing, /^lrwxrwxrwx .* bin\/alias -> tool$/m);
    assert.match(listing, new RegExp(`^-rw------- root/root +1000 .* ${long}$`, 'm'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('imageArchive: an OCI layout whose index names the image and whose digests match the blobs', () => {
  const bytes = imageArchive({
    name: 'nacre.local/demo:7',
    entries: [{ type: 'file', path: 'hello', mode: 0o755, data: Buffer.from('hi') }],
    entrypoint: ['/hello'],
  });
  const dir = untar(bytes);
  try {
    const blob = (digest: string) =>
      readFileSync(join(dir, 'blobs', 'sha256', digest.replace('sha256:', '')));
    const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8'));
    const desc = index.manifests[0];
    assert.equal(desc.annotations['io.containerd.image.name'], 'nacre.local/demo:7');
    const manifestBytes = blob(desc.digest);
    assert.equal(`sha256:${sha(manifestBytes)}`, desc.digest);
    assert.equal(manifestBytes.length, desc.size);
    const manifest = JSON.parse(manifestBytes.toString());
    const config = JSON.parse(blob(manifest.config.digest).toString());
    assert.deepEqual(config.config.Entrypoint, ['/hello']);
    const layer = blob(manifest.layers[0].digest);
    assert.equal(`sha256:${sha(layer)}`, manifest.layers[0].digest);
    assert.equal(config.rootfs.diff_ids[0], manifest.layers[0].digest);
    const docker = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    assert.deepEqual(docker[0].RepoTags, ['nacre.local/demo:7']);
    // Equal input, equal bytes: the archive is reproducible.
    assert.equal(
      sha(bytes),
      sha(
        imageArchive({
          name: 'nacre.local/demo:7',
          entries: [{ type: 'file', path: 'hello', mode: 0o755, data: Buffer.from('hi') }],
          entrypoint: ['/hello'],
        }),
      ),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
