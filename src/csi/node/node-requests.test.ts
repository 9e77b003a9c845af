import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { VolumeCapability } from '../proto.ts';
import {
  mountCapability,
  notStaged,
  readOnlyMode,
  requirePath,
  stageContext,
  subPathOf,
} from './node-requests.ts';

const cap = (mode: string, block = false) =>
  ({
    block: block ? {} : null,
    mount: block ? null : { fsType: '', mountFlags: ['flock'], volumeMountGroup: '' },
    accessMode: { mode },
    accessType: block ? 'block' : 'mount',
  }) as unknown as VolumeCapability;

const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return `${(err as { code?: string }).code}: ${(err as Error).message}`;
  }
  return 'no error';
};

describe('CSI node request checks', () => {
  it('paths must be present and absolute, and are normalised', () => {
    assert.match(
      code(() => requirePath('', 'target_path', 'NodePublishVolume')),
      /^InvalidArgument: .*target_path is required/,
    );
    assert.match(
      code(() => requirePath('rel/x', 'target_path', 'C')),
      /^InvalidArgument: .*absolute/,
    );
    assert.equal(requirePath('/a//b/./c/', 'p', 'C'), '/a/b/c');
  });

  it('wants a mount capability with an access mode; its flags are the mount options', () => {
    assert.deepEqual(mountCapability(cap('MULTI_NODE_MULTI_WRITER'), 'C'), ['flock']);
    assert.match(
      code(() => mountCapability(null, 'C')),
      /^InvalidArgument: .*volume_capability is required/,
    );
    assert.match(
      code(() => mountCapability(cap('SINGLE_NODE_WRITER', true), 'C')),
      /^InvalidArgument: .*block/,
    );
    assert.match(
      code(() => mountCapability(cap('UNKNOWN'), 'C')),
      /^InvalidArgument: .*access_mode/,
    );
    assert.ok(readOnlyMode(cap('MULTI_NODE_READER_ONLY')));
    assert.ok(!readOnlyMode(cap('SINGLE_NODE_SINGLE_WRITER')));
  });

  it('reads backend, dnsName, mountName and subPath from the volume context, naming what is wrong', () => {
    assert.deepEqual(stageContext({ dnsName: '10.0.0.1:988', mountName: 'fs1' }), {
      backend: 'emulated',
      dnsName: '10.0.0.1:988',
      mountName: 'fs1',
    });
    assert.match(
      code(() => stageContext({ backend: 'nfs', dnsName: 'a', mountName: 'b' })),
      /backend "nfs"/,
    );
    assert.match(
      code(() => stageContext({ backend: 'aws' })),
      /dnsName and mountName/,
    );
    assert.match(
      code(() => stageContext({ dnsName: 'a,b', mountName: 'x' })),
      /bad dnsName/,
    );
    assert.equal(subPathOf({ subPath: '/team/a/' }), 'team/a');
    assert.equal(subPathOf({}), '');
    assert.match(
      code(() => subPathOf({ subPath: 'a/../../etc' })),
      /must not contain/,
    );
  });

  it('a publish before NodeStageVolume succeeded is FailedPrecondition (CSI spec), saying to stage first', () => {
    const err = notStaged('static/default/fs', '/var/lib/kubelet/staging/x');
    assert.equal(err.code, 'FailedPrecondition');
    assert.match(err.message, /NodeStageVolume first/);
  });
});
