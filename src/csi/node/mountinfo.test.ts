import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isReadOnly, mountAt, parseMountinfo } from './mountinfo.ts';

const TEXT = [
  '22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw',
  '42 22 0:39 / /var/lib/kubelet/staging/v1 rw,relatime - fuse.nacre 10.0.0.1@tcp:/fs rw,user_id=0,group_id=0,allow_other',
  '43 22 0:39 /sub /var/lib/kubelet/pods/p1/vol\\040x ro,relatime shared:7 master:3 - fuse.nacre 10.0.0.1@tcp:/fs rw,user_id=0',
  '44 42 0:40 / /var/lib/kubelet/staging/v1 rw - fuse.nacre 10.0.0.1@tcp:/fs rw',
  'garbage line',
].join('\n');

describe('mountinfo', () => {
  const entries = parseMountinfo(TEXT);

  it('parses device, root, mount point (unescaped), options, type and source, with optional fields', () => {
    assert.equal(entries.length, 4);
    const bind = entries[2]!;
    assert.equal(bind.device, '0:39');
    assert.equal(bind.root, '/sub');
    assert.equal(bind.mountPoint, '/var/lib/kubelet/pods/p1/vol x');
    assert.equal(bind.fsType, 'fuse.nacre');
    assert.equal(bind.source, '10.0.0.1@tcp:/fs');
    assert.ok(isReadOnly(bind));
    assert.ok(!isReadOnly(entries[1]!));
  });

  it('mountAt gives the mount on top when several are stacked on a path', () => {
    assert.equal(mountAt(entries, '/var/lib/kubelet/staging/v1')?.id, 44);
    assert.equal(mountAt(entries, '/nowhere'), undefined);
  });
});
