// Worker threads spin briefly after a job (the next op usually follows within microseconds during
// decoding) and then sleep on a condition variable, so an idle process costs no CPU.
#define _GNU_SOURCE  // dladdr
#include "pool.h"

#include <dlfcn.h>

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define RELAX() _mm_pause()
#elif defined(__aarch64__)
#define RELAX() __asm__ __volatile__("yield")
#else
#define RELAX() ((void)0)
#endif

// Spins between yields: on a busy machine (more runnable threads than cores) a spinning thread
// would keep the one it waits for off the CPU. A worker sleeps after SPIN_NS without a job: waking
// a sleeping thread costs ~150 µs on a VM, more than the JS ops between two products take.
enum { MAX_THREADS = 64, SPIN_BURST = 64 };
static const long long SPIN_NS = 5000000;

static long long now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000000000 + t.tv_nsec;
}

static void backoff(int *spins) {
  if (++*spins % SPIN_BURST) RELAX();
  else sched_yield();
}

// A job is published through `claim`: its high 32 bits are the job's sequence number, the low
// 32 the next unclaimed task. Claims are CASes on the whole word, so a thread that saw an older
// job can never take a task of a newer one. The caller returns once every task is done: it never
// waits for a worker that has not joined (one descheduled by the OS or still asleep), only for
// ranges a worker has claimed and is running.
static struct {
  pthread_mutex_t busy;  // held by the thread running a job
  pthread_mutex_t mu;    // guards sleeping workers
  pthread_cond_t cv;
  atomic_uint gen;       // bumped once per job, for sleepers
  atomic_int sleepers;
  _Atomic unsigned long long claim;
  atomic_size_t done;    // tasks finished in the current job
  // the current job, a seqlock: `seq` is 0 while the fields change
  atomic_uint seq;
  _Atomic(pool_task) fn;
  _Atomic(void *) ctx;
  atomic_size_t tasks, grain;
  int limit;             // threads taking part, caller included
  int started;           // worker threads created
  int init;
} P = {.busy = PTHREAD_MUTEX_INITIALIZER, .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

// Runs ranges of job `seq` until none is left; returns at once if that job is over.
static void work(unsigned seq) {
  unsigned s1 = atomic_load(&P.seq);
  pool_task fn = atomic_load(&P.fn);
  void *ctx = atomic_load(&P.ctx);
  size_t tasks = atomic_load(&P.tasks), grain = atomic_load(&P.grain);
  if (s1 != seq || atomic_load(&P.seq) != seq) return;  // a newer job, or one being set up
  for (;;) {
    unsigned long long c = atomic_load(&P.claim);
    size_t first = (size_t)(c & 0xffffffffu);
    if ((unsigned)(c >> 32) != seq || first >= tasks) return;
    size_t end = first + grain < tasks ? first + grain : tasks;
    if (!atomic_compare_exchange_weak(&P.claim, &c, ((unsigned long long)seq << 32) | end)) continue;
    fn(ctx, first, end);
    atomic_fetch_add(&P.done, end - first);
  }
}

static void *worker(void *arg) {
  int id = (int)(size_t)arg;  // 1-based: the caller is thread 0
  unsigned seen = 0;
  for (;;) {
    unsigned g;
    int spins = 0;
    long long until = now_ns() + SPIN_NS;
    while ((g = atomic_load(&P.gen)) == seen) {
      if (spins % SPIN_BURST || now_ns() < until) {
        backoff(&spins);
        continue;
      }
      pthread_mutex_lock(&P.mu);
      atomic_fetch_add(&P.sleepers, 1);
      while ((g = atomic_load(&P.gen)) == seen) pthread_cond_wait(&P.cv, &P.mu);
      atomic_fetch_sub(&P.sleepers, 1);
      pthread_mutex_unlock(&P.mu);
      break;
    }
    seen = g;
    if (id < P.limit) work((unsigned)(atomic_load(&P.claim) >> 32));
  }
  return NULL;
}

static int cores(void) {
  const char *env = getenv("ANEMLL_THREADS");
  long n = env ? strtol(env, NULL, 10) : sysconf(_SC_NPROCESSORS_ONLN);
  if (n < 1) n = 1;
  return n > 8 && !env ? 8 : (int)(n > MAX_THREADS ? MAX_THREADS : n);
}

// Creates workers up to n − 1; returns the thread count available.
static int grow(int n) {
  while (P.started + 1 < n) {
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int ok = pthread_create(&t, &attr, worker, (void *)(size_t)(P.started + 1)) == 0;
    pthread_attr_destroy(&attr);
    if (!ok) break;
    P.started++;
  }
  return P.started + 1;
}

// Node unloads an addon when the last worker_thread that loaded it exits; our threads would then
// run unmapped code. Opening ourselves once more with RTLD_NODELETE keeps the library mapped.
static void pin_library(void) {
  Dl_info info;
  if (dladdr((void *)pin_library, &info) && info.dli_fname)
    dlopen(info.dli_fname, RTLD_NOW | RTLD_NODELETE);
}

static void ensure_init(void) {
  if (P.init) return;
  P.init = 1;
  pin_library();
  P.limit = grow(cores());
}

int pool_threads(void) {
  pthread_mutex_lock(&P.busy);
  ensure_init();
  int n = P.limit;
  pthread_mutex_unlock(&P.busy);
  return n;
}

int pool_set_threads(int n) {
  if (n < 1) n = 1;
  if (n > MAX_THREADS) n = MAX_THREADS;
  pthread_mutex_lock(&P.busy);
  ensure_init();
  int have = grow(n);
  P.limit = n < have ? n : have;
  n = P.limit;
  pthread_mutex_unlock(&P.busy);
  return n;
}

void pool_run(pool_task fn, void *ctx, size_t tasks, size_t grain) {
  if (tasks == 0) return;
  if (grain == 0) grain = 1;
  if (pthread_mutex_trylock(&P.busy) != 0) {
    fn(ctx, 0, tasks);  // another JS thread (a worker_thread) has the pool
    return;
  }
  ensure_init();
  if (P.limit <= 1 || P.started == 0 || tasks <= grain || tasks > 0xffffffffu) {
    pthread_mutex_unlock(&P.busy);
    fn(ctx, 0, tasks);
    return;
  }
  static unsigned seq;
  if (++seq == 0) seq = 1;  // 0 marks a job being set up
  atomic_store(&P.seq, 0);
  atomic_store(&P.fn, fn);
  atomic_store(&P.ctx, ctx);
  atomic_store(&P.tasks, tasks);
  atomic_store(&P.grain, grain);
  atomic_store(&P.done, 0);
  atomic_store(&P.seq, seq);
  atomic_store(&P.claim, (unsigned long long)seq << 32);
  atomic_fetch_add(&P.gen, 1);
  if (atomic_load(&P.sleepers) > 0) {
    pthread_mutex_lock(&P.mu);
    pthread_cond_broadcast(&P.cv);
    pthread_mutex_unlock(&P.mu);
  }
  work(seq);
  int spins = 0;
  while (atomic_load(&P.done) < tasks) backoff(&spins);
  pthread_mutex_unlock(&P.busy);
}
