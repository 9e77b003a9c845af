// Process settings that must exist before anything else loads: imported first by cmd/nacre.ts.
import { enableCompileCache } from 'node:module';

// A FUSE session keeps several libuv threadpool threads blocked reading /dev/fuse; give the pool room.
process.env['UV_THREADPOOL_SIZE'] ??= '24';
// Node's compile cache keeps the type-stripped, compiled modules on disk: a command's lazily loaded
// modules (and every child process, which inherits the variable) start faster and with ~20 MB less
// RSS than when each process strips its TypeScript again. A cache that cannot be written is ignored.
const cache = enableCompileCache().directory;
if (cache !== undefined) process.env['NODE_COMPILE_CACHE'] ??= cache;
