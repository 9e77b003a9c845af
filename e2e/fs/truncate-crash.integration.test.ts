// A truncate whose client dies after the MDS recorded the new size but before the OST punches: old bytes never show again when the file grows.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type FsCluster, startFsCluster } from './fs-cluster.ts';
import { run, sh } from './shell.ts';

let fs: FsCluster;
let m: string;

before(async () => {
  fs = await startFsCluster({ fsname: 'trunc', ossCount: 2 });
  m = (await fs.mount('a')).point;
});
after(() => fs?.stop());

const session = fileURLToPath(new URL('../../src/lustre/client/mds-session.ts', import.meta.url));

/** A client that records `size` on the MDS and dies before it punches the objects (what a crash there leaves). */
const CRASHING_TRUNCATE = `
import { MdsSession } from ${JSON.stringify(session)};
const [address, fsname, ino, size] = process.argv.slice(1);
const s = new MdsSession({ address, fsname, clientId: 'crashing-client', host: 'elsewhere' });
const root = { uid: 0, gid: 0, groups: [] };
await s.mutate('setattr', { cred: root, ino: Number(ino), changes: { size: Number(size) } });
process.exit(0);
`;

test('old bytes past a truncate its client never finished do not come back when the file grows', async () => {
  await sh(
    `${NACRE_NODE} -e "process.stdout.write('X'.repeat(1<<20))" > ${fs.dir}/xs && dd if=${fs.dir}/xs of=${m}/f bs=1M status=none`,
  );
  const ino = (await sh(`stat -c %i ${m}/f`)).trim();
  const r = await run([
    process.execPath,
    '--input-type=module',
    '-e',
    CRASHING_TRUNCATE,
    fs.mds.address,
    fs.fsname,
    ino,
    '10',
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await sh(`stat -c %s ${m}/f`), '10\n', 'the MDS holds the new size');
  // Grow it again (open + ftruncate), and read what lies past the 10 bytes kept.
  await sh(`truncate -s 1M ${m}/f`);
  assert.equal(await sh(`head -c 10 ${m}/f`), 'XXXXXXXXXX');
  assert.equal(
    await sh(`tail -c +11 ${m}/f | tr -d '\\0' | wc -c`),
    '0\n',
    'only zeros past the truncated size',
  );
});

const NACRE_NODE = process.execPath;
