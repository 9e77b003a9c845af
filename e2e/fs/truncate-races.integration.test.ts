// Truncates against other mounts' writers: a late size report never regrows a truncated file, and old bytes never come back after a failed punch.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { useFsCluster } from './fs-cluster.ts';
import { hold, sh } from './shell.ts';

const t = useFsCluster({ fsname: 'trrace', ossCount: 1, mounts: ['a', 'b'] });

/**
 * Opens argv[1] for writing; on each stdin line "OFFSET TEXT" writes TEXT there, on "truncate SIZE"
 * ftruncates, and prints "done" or the error's name; closes at end of stdin.
 */
const WRITER = `import errno, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
print('open', flush=True)
for line in sys.stdin:
    a, b = line.split()
    try:
        if a == 'truncate':
            os.ftruncate(fd, int(b))
        else:
            os.pwrite(fd, b.encode(), int(a))
        print('done', flush=True)
    except OSError as e:
        print('error ' + errno.errorcode[e.errno], flush=True)
os.close(fd)`;

test('a writer on mount B that closes after mount A truncated does not grow the file back', async () => {
  await t.ready;
  const { a, b } = t.mounts;
  await sh(`: > ${a}/f`);
  const writer = hold(['python3', '-c', WRITER, `${b}/f`]);
  await writer.waitForLine(/open/);
  writer.send(`0 ${'B'.repeat(5000)}\n`);
  await writer.waitForLine(/done/);
  // B's 5000 bytes are on the OST; its mount reports their end only when it closes.
  assert.equal(await sh(`stat -c %s ${a}/f`), '5000\n', 'A sees B’s writes (glimpse) before the truncate');
  await sh(`truncate -s 0 ${a}/f`);
  const r = await writer.release();
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await sh(`stat -c %s ${a}/f`), '0\n', 'the truncate after B’s writes holds on A');
  assert.equal(await sh(`stat -c %s ${b}/f`), '0\n', 'and on B');
});

test('a truncate whose OST punch failed: a writer that already had the file open never brings the old bytes back', async () => {
  await t.ready;
  const { a, b } = t.mounts;
  await sh(`head -c 1048576 /dev/zero | tr '\\0' X > ${a}/g`);
  const writer = hold(['python3', '-c', WRITER, `${b}/g`]);
  const truncater = hold(['python3', '-c', WRITER, `${a}/g`]);
  await writer.waitForLine(/open/);
  await truncater.waitForLine(/open/);
  const oss = t.cluster.osses[0]!;
  await oss.kill9();
  truncater.send('truncate 10\n');
  const failed = await truncater.waitForLine(/done|error/, 60_000);
  await truncater.release();
  await oss.start();
  assert.equal(failed, 'error EIO', 'the truncate cannot punch the OST while it is down');
  assert.equal(await sh(`stat -c %s ${a}/g`), '10\n', 'the MDS recorded the new size');
  // B writes past the old end, then closes: the file grows, over what the punch should have dropped.
  writer.send('2097152 W\n');
  await writer.waitForLine(/done/, 60_000);
  const r = await writer.release();
  assert.equal(r.code, 0, r.stderr);
  assert.equal(
    await sh(`tr -cd X < ${a}/g | wc -c`),
    '10\n',
    'only the 10 bytes the truncate kept are X; nothing past them came back',
  );
  assert.equal(await sh(`tr -cd X < ${b}/g | wc -c`), '10\n');
});
