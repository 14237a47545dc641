/**
 * Imported first by src/main.ts: libuv reads UV_THREADPOOL_SIZE when its pool starts (the first async fs,
 * zlib or crypto call), so it must be set before any of that. The store's writes wait on fsync in the pool;
 * with the default 4 threads they queue behind each other (bench:store: 7.9 → 12.0 MB/s with 16).
 */
process.env.UV_THREADPOOL_SIZE ??= '16';
