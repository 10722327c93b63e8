// A process-wide pool of worker threads for the matrix kernels. One job runs at a time: its tasks
// are handed out through an atomic counter, so the calling thread works too and idle threads steal.
#ifndef ANEMLL_POOL_H
#define ANEMLL_POOL_H

#include <stddef.h>

typedef void (*pool_task)(void *ctx, size_t first, size_t end);

/** Threads that run a job, the caller included (1 when the pool could not start). */
int pool_threads(void);

/** Sets the thread count (1..64) for later jobs; returns the count in effect. */
int pool_set_threads(int n);

/**
 * Runs fn(ctx, first, end) over [0, tasks) in ranges of `grain` tasks on every pool thread and
 * returns when all are done. If another thread is using the pool, the caller runs it alone.
 */
void pool_run(pool_task fn, void *ctx, size_t tasks, size_t grain);

#endif
