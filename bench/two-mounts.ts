// Two mounts: two mounts writing different files at once against one mount writing both, and one mount reading what the other wrote.
import '../cmd/env-init.ts';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../e2e/fs/shell.ts';
import { fio } from './seq.ts';
import { median, ratio } from './stats.ts';
import { startTargets, targetSettings } from './targets.ts';

export interface TwoMountsResult {
  oneMountTwoFilesMiBs: number;
  twoMountsMiBs: number;
  twoVsOne: number;
  readOwnMiBs: number;
  readOtherMiBs: number;
  otherVsOwn: number;
}

export async function twoMountsBench(reps: number, size = '128M'): Promise<TwoMountsResult> {
  const targets = await startTargets({ memfs: false });
  const one: number[] = [];
  const two: number[] = [];
  const own: number[] = [];
  const other: number[] = [];
  try {
    const b = await targets.cluster.mount('second', { args: targetSettings.mountArgs });
    const onA = targets.nacre.dir;
    const onB = join(b.point, 'data');
    const common = [`--size=${size}`, '--direct=1'];
    for (let i = 0; i < reps; i++) {
      await run(['sh', '-c', `rm -rf "${onA}"/tm-*`], { timeoutMs: 120_000 });
      await mkdir(join(onA, `tm-${i}`));
      const d = `tm-${i}`;
      one.push(
        await fio(join(onA, d), [
          ...common,
          '--numjobs=2',
          '--rw=write',
          '--end_fsync=1',
          '--filename_format=one.$jobnum',
        ]),
      );
      const both = await Promise.all([
        fio(join(onA, d), [...common, '--rw=write', '--end_fsync=1', '--filename_format=a.0']),
        fio(join(onB, d), [...common, '--rw=write', '--end_fsync=1', '--filename_format=b.0']),
      ]);
      two.push(both[0] + both[1]);
      own.push(await fio(join(onA, d), [...common, '--rw=read', '--filename_format=a.0']));
      other.push(await fio(join(onB, d), [...common, '--rw=read', '--filename_format=a.0']));
    }
  } finally {
    await targets.stop();
  }
  const r = {
    oneMountTwoFilesMiBs: median(one),
    twoMountsMiBs: median(two),
    twoVsOne: ratio(median(two), median(one)),
    readOwnMiBs: median(own),
    readOtherMiBs: median(other),
    otherVsOwn: ratio(median(other), median(own)),
  };
  console.log(
    `write 2 files: one mount ${r.oneMountTwoFilesMiBs.toFixed(0)} MiB/s, two mounts ${r.twoMountsMiBs.toFixed(0)} MiB/s (×${r.twoVsOne.toFixed(2)})`,
  );
  console.log(
    `read a file written on A: on A ${r.readOwnMiBs.toFixed(0)} MiB/s, on B ${r.readOtherMiBs.toFixed(0)} MiB/s (×${r.otherVsOwn.toFixed(2)})`,
  );
  return r;
}
