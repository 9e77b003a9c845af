// SigV4 query signing against the worked example of the S3 API reference, and the URLs and headers of a presigned ranged GET.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { objectUrl, presignGet, presignPart, presignPut, presignRange } from './s3-presign.ts';

const example = {
  accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
};

test('the S3 reference example of a presigned GET gets its published signature', () => {
  const p = presignGet(
    new URL('https://examplebucket.s3.amazonaws.com/test.txt'),
    {},
    example,
    'us-east-1',
    86400,
    new Date('2013-05-24T00:00:00Z'),
  );
  const u = new URL(p.url);
  assert.equal(
    u.searchParams.get('X-Amz-Credential'),
    'AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request',
  );
  assert.equal(u.searchParams.get('X-Amz-SignedHeaders'), 'host');
  assert.equal(
    u.searchParams.get('X-Amz-Signature'),
    'aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404',
  );
  assert.deepEqual(p.headers, {});
});

test('a ranged GET signs its Range and If-Match, which the sender must send as given', () => {
  const t = { endpoint: 'http://127.0.0.1:9000', region: 'us-east-1', forcePathStyle: true };
  const p = presignRange(t, { ...example, sessionToken: 'tok/en+' }, 'b', 'dir/a b+c', 8, 4, '"e1"', 60);
  const u = new URL(p.url);
  assert.equal(u.origin + u.pathname, 'http://127.0.0.1:9000/b/dir/a%20b%2Bc');
  assert.equal(u.searchParams.get('X-Amz-SignedHeaders'), 'host;if-match;range');
  assert.equal(u.searchParams.get('X-Amz-Security-Token'), 'tok/en+');
  assert.deepEqual(p.headers, { range: 'bytes=8-11', 'if-match': '"e1"' });
});

test('object URLs: path-style under an endpoint, virtual-hosted on AWS S3 unless the bucket has dots', () => {
  const aws = { region: 'eu-west-1', forcePathStyle: false };
  assert.equal(objectUrl(aws, 'bk', 'k/ü').toString(), 'https://bk.s3.eu-west-1.amazonaws.com/k/%C3%BC');
  assert.equal(objectUrl(aws, 'a.b', 'k').toString(), 'https://s3.eu-west-1.amazonaws.com/a.b/k');
  const minio = { endpoint: 'https://s3.local:9443/', region: 'r', forcePathStyle: true };
  assert.equal(objectUrl(minio, 'bk', 'k').toString(), 'https://s3.local:9443/bk/k');
});

test('a presigned UploadPart signs its part number, upload id, length and CRC-32 (the body itself unsigned)', () => {
  const t = { endpoint: 'http://127.0.0.1:9000', region: 'us-east-1', forcePathStyle: true };
  const p = presignPart(t, example, 'b', 'k', 'id/+=', 3, 5, 'AAAAAA==', 60);
  const u = new URL(p.url);
  assert.equal(u.searchParams.get('partNumber'), '3');
  assert.equal(u.searchParams.get('uploadId'), 'id/+=');
  assert.equal(u.searchParams.get('X-Amz-SignedHeaders'), 'content-length;host;x-amz-checksum-crc32');
  assert.deepEqual(p.headers, { 'content-length': '5', 'x-amz-checksum-crc32': 'AAAAAA==' });
  // The same request with another part number is another signature.
  const other = new URL(presignPart(t, example, 'b', 'k', 'id/+=', 4, 5, 'AAAAAA==', 60).url);
  assert.notEqual(other.searchParams.get('X-Amz-Signature'), u.searchParams.get('X-Amz-Signature'));
});

test('a presigned PutObject signs its user metadata as x-amz-meta-* headers', () => {
  const t = { region: 'eu-west-1', forcePathStyle: false };
  const p = presignPut(t, example, 'bk', 'k', 2, 'AAAAAA==', { 'file-owner': '7', 'File-Group': '8' }, 60);
  assert.equal(
    new URL(p.url).searchParams.get('X-Amz-SignedHeaders'),
    'content-length;host;x-amz-checksum-crc32;x-amz-meta-file-group;x-amz-meta-file-owner',
  );
  assert.equal(p.headers['x-amz-meta-file-owner'], '7');
});
