import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ServerInfo } from '../protocol/mgs-messages.ts';
import { ostName, pickMds, placeOsts } from './placement.ts';

const G = 2 ** 30;
const server = (name: string, capacityBytes: number): ServerInfo => ({
  name,
  role: 'oss',
  address: `${name}:1`,
  host: name,
  capacityBytes,
});
const names = (s: ServerInfo[]) => s.map((x) => x.name);

test('OSTs go round-robin so neighbours are on different servers', () => {
  const servers = [server('a', 10 * G), server('b', 10 * G), server('c', 10 * G)];
  assert.deepEqual(names(placeOsts(servers, 5, G)), ['a', 'b', 'c', 'a', 'b']);
  assert.deepEqual(names(placeOsts(servers, 2, G, 'b')), ['c', 'a'], 'continues after the last OST');
});

test("with several servers per node, OSTs visit every node before a node's second server", () => {
  const on = (name: string, host: string) => ({ ...server(name, 4 * G), host });
  const servers = [on('a0', 'a'), on('a1', 'a'), on('b0', 'b'), on('b1', 'b'), on('c0', 'c')];
  assert.deepEqual(names(placeOsts(servers, 2, G)), ['a0', 'b0']);
  assert.deepEqual(names(placeOsts(servers, 5, G)), ['a0', 'b0', 'c0', 'a1', 'b1']);
  assert.deepEqual(names(placeOsts(servers, 2, G, 'c0')), ['a1', 'b1'], 'continues after the last OST');
});

test('servers without room are skipped, and room used earlier in the call counts', () => {
  const servers = [server('a', 2 * G), server('b', G / 2), server('c', 3 * G)];
  assert.deepEqual(names(placeOsts(servers, 5, G)), ['a', 'c', 'a', 'c', 'c']);
  assert.throws(
    () => placeOsts(servers, 6, G),
    (e) => (e as { code?: string }).code === 'ENOSPC',
  );
  assert.throws(
    () => placeOsts([], 1, G),
    (e) => (e as { code?: string }).code === 'InsufficientServers',
  );
});

test('the MDT goes to the MDS with the fewest MDTs', () => {
  const mds = [server('m2', 0), server('m1', 0)];
  assert.equal(pickMds(mds, () => 0).name, 'm1');
  assert.equal(pickMds(mds, (n) => (n === 'm1' ? 3 : 1)).name, 'm2');
  assert.throws(
    () => pickMds([], () => 0),
    (e) => (e as { code?: string }).code === 'InsufficientServers',
  );
});

test('OST names are Lustre-style, index in four hex digits', () => {
  assert.equal(ostName('scratch', 0), 'scratch-OST0000');
  assert.equal(ostName('fs1', 26), 'fs1-OST001a');
});
