// The opcode → client call table: every FUSE request the adapter translates into a FileSystemClient call.

import type { Op } from './op-types.ts';
import { fileOps } from './ops-file.ts';
import { inodeOps } from './ops-inode.ts';

/** Every opcode the adapter translates. Opcodes not here (and not handled by the session) get ENOSYS. */
export const ops: ReadonlyMap<number, Op> = new Map<number, Op>([...inodeOps, ...fileOps]);
