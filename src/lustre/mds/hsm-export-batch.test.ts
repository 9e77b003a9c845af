// The batched export calls on a real MDS: each file of a batch opened, closed and checked on its own, in one transaction.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  codeOf,
  type LoopbackMds,
  rootFile,
  rpc,
  startLoopbackMds,
} from '../../../test/lustre/loopback-mds.ts';
import { ALICE, ROOT } from '../../../test/lustre/mds-fixtures.ts';
import type { BatchOutcome, ExportOpened } from '../protocol/hsm-export-messages.ts';
import type { RpcClient } from '../protocol/rpc-client.ts';
import { HS_ARCHIVED, HS_DIRTY, HS_EXISTS, HS_RELEASED } from './hsm.ts';

let mds: LoopbackMds;
let user: RpcClient;
let agent: RpcClient;
let xid = 1;

before(async () => {
  mds = await startLoopbackMds({ fsname: 'fs' });
  user = await mds.rpcClient('user');
  agent = await mds.rpcClient('agent');
});
after(() => mds?.close());

const file = (name: string) => rootFile(user, name, { size: 5000 }, () => xid++);

type Opened = BatchOutcome<ExportOpened>;
type Done = BatchOutcome<{ flags: number; clean: boolean } | null>;
const exportOpen = async (inos: unknown, cred = ROOT) =>
  (await rpc(agent, 'hsmExportOpen', { xid: xid++, cred, inos })) as Opened[];
const exportDone = async (items: unknown, at = xid++) =>
  (await rpc(agent, 'hsmExportDone', { xid: at, cred: ROOT, items })) as Done[];
const state = async (ino: number) =>
  (await rpc(user, 'hsmState', { ino })) as { flags: number; open: boolean };
const code = codeOf;
function opened(o: Opened | undefined): ExportOpened & { opened: { handle: number } } {
  assert.ok(o && 'ok' in o && o.ok.opened, `opened: ${JSON.stringify(o)}`);
  return o.ok as ExportOpened & { opened: { handle: number } };
}
const asOf = (o: ExportOpened) => ({
  mtimeMs: o.attr.mtimeMs,
  size: o.attr.size,
  dataVersion: o.dataVersion,
});
const archived = (ino: number, o: ExportOpened) => ({
  ino,
  handle: o.opened?.handle,
  archived: { location: `s3://b/${ino}`, archiveId: 1, asOf: asOf(o) },
});

test('hsmExportOpen: a read handle and the layout for each file to export; none for released or archived clean ones; one failing file leaves the others opened', async () => {
  const [fresh, clean, released] = [await file('fresh'), await file('clean'), await file('released')];
  for (const ino of [clean, released]) {
    const a = (await rpc(user, 'getattr', { ino })) as { mtimeMs: number; size: number };
    await rpc(agent, 'hsmArchived', { xid: xid++, cred: ROOT, ino, archiveId: 1, location: 'x', asOf: a });
  }
  await rpc(user, 'hsmRelease', { xid: xid++, cred: ROOT, ino: released });
  assert.equal(await code(exportOpen([fresh], ALICE)), 'EPERM');
  assert.equal((await state(fresh)).open, false, 'a refused batch opened nothing');
  for (const bad of [[], Array.from({ length: 257 }, () => fresh), ['x'], [0], 'x'])
    assert.equal(await code(exportOpen(bad)), 'EINVAL', JSON.stringify(bad).slice(0, 40));

  const out = await exportOpen([fresh, clean, released, 1, 999_999]);
  const f = opened(out[0]);
  assert.equal(f.attr.size, 5000);
  assert.ok(f.opened.layout, 'the layout to read by');
  assert.equal((await state(fresh)).open, true, 'the MDS knows the agent reads it');
  assert.deepEqual(out[1], {
    ok: {
      attr: (out[1] as { ok: ExportOpened }).ok.attr,
      dataVersion: 1,
      state: { flags: HS_EXISTS | HS_ARCHIVED, archiveId: 1, location: 'x' },
    },
  });
  assert.ok('ok' in out[2]! && !out[2].ok.opened && out[2].ok.state.flags & HS_RELEASED);
  assert.equal((out[3] as { errno: string }).errno, 'EINVAL', 'a directory');
  assert.equal((out[4] as { errno: string }).errno, 'ENOENT');
  assert.equal((await state(clean)).open, false);

  // While the agent reads it, the file is not released under it, even once archived clean by another export.
  await rpc(agent, 'hsmArchived', {
    xid: xid++,
    cred: ROOT,
    ino: fresh,
    archiveId: 1,
    location: 'y',
    asOf: asOf(f),
  });
  assert.equal(await code(rpc(user, 'hsmRelease', { xid: xid++, cred: ROOT, ino: fresh })), 'EBUSY');
  const wrongFile = await exportDone([{ ino: clean, handle: f.opened.handle }]);
  assert.equal((wrongFile[0] as { errno: string }).errno, 'EBADF', 'a handle of another file');
  assert.equal((await state(fresh)).open, true);
  assert.deepEqual(await exportDone([{ ino: fresh, handle: f.opened.handle }]), [{ ok: null }]);
  assert.equal((await state(fresh)).open, false, 'a close alone');
});

test('hsmExportDone: each file checked on its own — one changed or written during its export stays dirty while the others of the batch are archived clean', async () => {
  const inos = [await file('p'), await file('q'), await file('r'), await file('s')];
  const [p, q, r, s] = inos as [number, number, number, number];
  const out = (await exportOpen(inos)).map(opened);
  // During the uploads: q changes size; r is opened for writing by a user who keeps it open; s is fine.
  await rpc(user, 'setattr', { xid: xid++, cred: ROOT, ino: q, changes: { size: 6000 } });
  const w = (await rpc(user, 'open', { xid: xid++, cred: ROOT, ino: r, flags: 1 })) as { handle: number };
  const items = [archived(p, out[0]!), archived(q, out[1]!), archived(r, out[2]!), archived(s, out[3]!)];
  // A handle that is not the agent's (the user's writer) fails that item alone.
  items.push({ ...archived(r, out[2]!), handle: w.handle });
  const at = xid++;
  const done = await exportDone(items, at);
  assert.deepEqual(
    done.map((d) => ('ok' in d ? d.ok?.clean : d.errno)),
    [true, false, false, true, 'EBADF'],
  );
  assert.deepEqual(await exportDone(items, at), done, 'a resent batch gets its first reply and runs once');
  assert.equal((await state(p)).flags, HS_EXISTS | HS_ARCHIVED);
  assert.equal((await state(q)).flags, HS_EXISTS | HS_ARCHIVED | HS_DIRTY, 'changed since its open');
  assert.equal((await state(r)).flags, HS_EXISTS | HS_ARCHIVED | HS_DIRTY, 'open for writing elsewhere');
  assert.equal((await state(s)).flags, HS_EXISTS | HS_ARCHIVED);
  for (const ino of [p, q, s])
    assert.equal((await state(ino)).open, false, `${ino}: the agent's handle closed`);
  assert.equal((await state(r)).open, true, "the user's writer is still open");
  await rpc(user, 'release', { xid: xid++, handle: w.handle });
  for (const bad of [[{ ino: p, handle: 'x' }], [{ ino: p, archived: { location: 1 } }], [{}]])
    assert.equal(await code(exportDone(bad)), 'EINVAL', JSON.stringify(bad));
});

test('hsmExportDone: a file rewritten or resized during its export stays dirty even when its size and mtime are back to those its open saw (rsync -t, cp -p, touch -d; or one clock tick)', async () => {
  const [rewritten, regrown] = [await file('rewritten'), await file('resized')];
  const out = (await exportOpen([rewritten, regrown])).map(opened);
  const mtimeMs = out[0]!.attr.mtimeMs;
  // Overwritten in place through a handle opened and closed while the agent uploaded the old bytes.
  const w = (await rpc(user, 'open', { xid: xid++, cred: ROOT, ino: rewritten, flags: 1 })) as {
    handle: number;
  };
  await rpc(user, 'release', { xid: xid++, handle: w.handle });
  await rpc(user, 'setattr', { xid: xid++, cred: ROOT, ino: rewritten, changes: { mtimeMs } });
  // Grown and cut back to its size (this MDS reaches no OST to cut, so not cut to zeros and regrown).
  for (const size of [6000, 5000])
    await rpc(user, 'setattr', { xid: xid++, cred: ROOT, ino: regrown, changes: { size } });
  await rpc(user, 'setattr', {
    xid: xid++,
    cred: ROOT,
    ino: regrown,
    changes: { mtimeMs: out[1]!.attr.mtimeMs },
  });
  const done = await exportDone([archived(rewritten, out[0]!), archived(regrown, out[1]!)]);
  assert.deepEqual(
    done.map((d) => ('ok' in d ? d.ok?.clean : d.errno)),
    [false, false],
    'S3 holds the old bytes: neither may be released over its new content',
  );
  for (const ino of [rewritten, regrown])
    assert.equal((await state(ino)).flags, HS_EXISTS | HS_ARCHIVED | HS_DIRTY);
});

test("hsmArchived (the unbatched export, large files): a file rewritten during its export stays dirty even with its mtime restored, given hsmState's data version", async () => {
  const [rewritten, untouched] = [await file('big-rewritten'), await file('big-untouched')];
  const before = async (ino: number) => {
    const a = (await rpc(user, 'getattr', { ino })) as { mtimeMs: number; size: number };
    const st = (await rpc(agent, 'hsmState', { ino })) as { dataVersion: number };
    return { mtimeMs: a.mtimeMs, size: a.size, dataVersion: st.dataVersion };
  };
  const [r, u] = [await before(rewritten), await before(untouched)];
  const w = (await rpc(user, 'open', { xid: xid++, cred: ROOT, ino: rewritten, flags: 2 })) as {
    handle: number;
  };
  await rpc(user, 'release', { xid: xid++, handle: w.handle });
  await rpc(user, 'setattr', { xid: xid++, cred: ROOT, ino: rewritten, changes: { mtimeMs: r.mtimeMs } });
  const archive = async (ino: number, asOf: unknown) =>
    (await rpc(agent, 'hsmArchived', { xid: xid++, cred: ROOT, ino, archiveId: 1, location: 'z', asOf })) as {
      clean: boolean;
    };
  assert.equal((await archive(rewritten, r)).clean, false, 'S3 holds the bytes it had before the write');
  assert.equal((await archive(untouched, u)).clean, true);
  assert.equal(await code(archive(untouched, { ...u, dataVersion: -1 })), 'EINVAL');
});
