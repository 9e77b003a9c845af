// toGrpcStatus: calls cut short by the caller or by a stopping plugin get codes the kubelet retries, not INTERNAL.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { status } from '@grpc/grpc-js';
import { NacreError } from '../lib/errors.ts';
import { CsiError } from './csi-error.ts';
import { toGrpcStatus } from './grpc-status.ts';

describe('toGrpcStatus', () => {
  it('a call interrupted by a stopping plugin is UNAVAILABLE, one the caller cancelled is CANCELLED', () => {
    const stopping = toGrpcStatus(new NacreError('ServerStopping', 'the CSI server is stopping'));
    assert.equal(status[stopping.code], 'UNAVAILABLE');
    assert.equal(stopping.details, 'the CSI server is stopping');
    const cancelled = toGrpcStatus(
      new NacreError('Cancelled', 'NodeStageVolume was cancelled by the caller'),
    );
    assert.equal(status[cancelled.code], 'CANCELLED');
  });

  it("keeps the CSI code a service chose and an unknown failure's message", () => {
    assert.equal(
      status[toGrpcStatus(new CsiError('FailedPrecondition', 'stage first')).code],
      'FAILED_PRECONDITION',
    );
    const other = toGrpcStatus(new Error('boom'));
    assert.deepEqual([status[other.code], other.details], ['INTERNAL', 'boom']);
  });
});
