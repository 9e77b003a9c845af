import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  CreateDataRepositoryAssociationCommand,
  DescribeFileSystemsCommand,
  FSxClient,
  UnsupportedOperation,
} from '@aws-sdk/client-fsx';
import { rejectsWith } from '../../../../test/fsx/expect.ts';
import {
  ACCESS_KEY,
  type Harness,
  REGION,
  SECRET_KEY,
  sdkClient,
  startHarness,
} from '../../../../test/fsx/harness.ts';
import { verifySigV4 } from './sigv4.ts';

let h: Harness;
before(async () => {
  h = await startHarness();
});
after(() => h.close());

/** A client whose requests are changed by `edit` before (step "build") or after (step "deserialize") signing. */
function editingClient(
  step: 'build' | 'deserialize',
  edit: (req: { headers: Record<string, string>; body: unknown }) => void,
  client: FSxClient = sdkClient(h.api.endpoint),
): FSxClient {
  const middleware = (next: (args: unknown) => Promise<unknown>) => async (args: unknown) => {
    const req = (args as { request: { headers: Record<string, string>; body: unknown } }).request;
    edit(req);
    if (typeof req.body === 'string') req.headers['content-length'] = String(Buffer.byteLength(req.body));
    return next(args);
  };
  (client.middlewareStack as unknown as { add(m: unknown, o: object): void }).add(middleware, {
    step,
    name: `edit-${step}`,
    priority: 'low',
  });
  return client;
}

test('the verifier accepts the AWS SigV4 test suite vector "get-vanilla"', () => {
  const rawHeaders = [
    'Host',
    'example.amazonaws.com',
    'X-Amz-Date',
    '20150830T123600Z',
    'Authorization',
    'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31',
  ];
  const result = verifySigV4(
    { method: 'GET', url: '/', rawHeaders, body: Buffer.alloc(0) },
    {
      credentials: { AKIDEXAMPLE: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' },
      region: 'us-east-1',
      service: 'service',
      nowMs: Date.UTC(2015, 7, 30, 12, 36, 0),
    },
  );
  assert.equal(result.accessKeyId, 'AKIDEXAMPLE');
});

test('a request signed with a configured key is served', async () => {
  const out = await h.fsx.send(new DescribeFileSystemsCommand({}));
  assert.deepEqual(out.FileSystems, []);
});

test('a request signed with the wrong secret is refused with InvalidSignatureException', async () => {
  const client = sdkClient(h.api.endpoint, 'not-the-secret');
  await rejectsWith(
    client.send(new DescribeFileSystemsCommand({})),
    'InvalidSignatureException',
    /signature/,
  );
});

test('an unknown access key is refused with UnrecognizedClientException', async () => {
  const client = new FSxClient({
    endpoint: h.api.endpoint,
    region: REGION,
    credentials: { accessKeyId: 'AKIAUNKNOWN000000000', secretAccessKey: SECRET_KEY },
    maxAttempts: 1,
  });
  await rejectsWith(client.send(new DescribeFileSystemsCommand({})), 'UnrecognizedClientException');
});

test('an unsigned request gets 403 MissingAuthenticationTokenException as AWS JSON', async () => {
  const res = await fetch(h.api.endpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': 'AWSSimbaAPIService_v20180301.DescribeFileSystems',
    },
    body: '{}',
  });
  assert.equal(res.status, 403);
  assert.equal(res.headers.get('x-amzn-errortype'), 'MissingAuthenticationTokenException');
  const body = (await res.json()) as Record<string, unknown>;
  assert.equal(body['__type'], 'MissingAuthenticationTokenException');
});

test('a body changed after signing is refused with InvalidSignatureException', async () => {
  const client = editingClient('deserialize', (req) => {
    req.body = JSON.stringify({ MaxResults: 1 });
  });
  await rejectsWith(
    client.send(new DescribeFileSystemsCommand({ MaxResults: 2 })),
    'InvalidSignatureException',
  );
});

test('a signature scoped to another Region is refused', async () => {
  const client = sdkClient(h.api.endpoint, SECRET_KEY, 'eu-west-1');
  await rejectsWith(client.send(new DescribeFileSystemsCommand({})), 'InvalidSignatureException', /region/);
});

test('a request signed an hour ago is refused as expired', async () => {
  const client = new FSxClient({
    endpoint: h.api.endpoint,
    region: REGION,
    credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY },
    maxAttempts: 1,
    systemClockOffset: -3600_000,
  });
  await rejectsWith(client.send(new DescribeFileSystemsCommand({})), 'InvalidSignatureException', /expired/);
});

test('an operation the emulator does not know is UnsupportedOperation, not a crash', async () => {
  const client = editingClient('build', (req) => {
    req.headers['x-amz-target'] = 'AWSSimbaAPIService_v20180301.LaunchRocket';
  });
  await rejectsWith(client.send(new DescribeFileSystemsCommand({})), UnsupportedOperation, /LaunchRocket/);
});

test('without an S3 data repository configured, associations are UnsupportedOperation saying how to configure one', async () => {
  await rejectsWith(
    h.fsx.send(
      new CreateDataRepositoryAssociationCommand({
        FileSystemId: 'fs-0123456789abcdef0',
        DataRepositoryPath: 's3://bucket/prefix',
      }),
    ),
    UnsupportedOperation,
    /--s3-endpoint/,
  );
});

test('a body that is not JSON is a SerializationException', async () => {
  const client = editingClient('build', (req) => {
    req.body = '{"MaxResults": ';
  });
  await rejectsWith(client.send(new DescribeFileSystemsCommand({})), 'SerializationException');
});

test('a member of the wrong JSON type is a SerializationException', async () => {
  const client = editingClient('build', (req) => {
    req.body = '{"MaxResults": "ten"}';
  });
  await rejectsWith(client.send(new DescribeFileSystemsCommand({})), 'SerializationException', /maxResults/);
});

test('the health endpoint answers without credentials', async () => {
  const res = await fetch(`${h.api.endpoint}/healthz`);
  assert.equal(res.status, 200);
});
