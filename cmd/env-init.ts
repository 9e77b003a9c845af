// Process settings that must exist before anything else loads: imported first by cmd/nacre.ts.
// A FUSE session keeps several libuv threadpool threads blocked reading /dev/fuse; give the pool room.
process.env['UV_THREADPOOL_SIZE'] ??= '24';
