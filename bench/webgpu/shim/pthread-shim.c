// Diagnostic LD_PRELOAD shim for Dawn on the GPU machine's VM (bench/webgpu/README.md): logs every
// pthread mutex / condition-variable call that fails, with a backtrace, and every C++ throw; with
// SHIM_PLAIN_MUTEX=1 it turns priority-inheritance and robust mutexes into plain ones.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <execinfo.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

// Bind to the oldest dlsym so the shim loads on the GPU machine whatever its glibc.
__asm__(".symver dlsym,dlsym@GLIBC_2.2.5");

static int plain(void) { const char *v = getenv("SHIM_PLAIN_MUTEX"); return v && v[0] == '1'; }

static void trace(const char *what, int ret) {
  static int count = 0;
  if (++count > 20) return;
  char line[256];
  int n = snprintf(line, sizeof line, "shim: %s returned %d (%s)\n", what, ret, strerror(ret));
  write(2, line, n);
  void *frames[24];
  int depth = backtrace(frames, 24);
  backtrace_symbols_fd(frames, depth, 2);
}

#define REAL(name, ret, ...) \
  static ret (*real_##name)(__VA_ARGS__); \
  if (!real_##name) real_##name = dlsym(RTLD_NEXT, #name);

int pthread_mutexattr_setprotocol(pthread_mutexattr_t *a, int protocol) {
  REAL(pthread_mutexattr_setprotocol, int, pthread_mutexattr_t *, int)
  if (protocol != PTHREAD_PRIO_NONE) {
    write(2, "shim: mutex protocol set\n", 25);
    if (plain()) protocol = PTHREAD_PRIO_NONE;
  }
  return real_pthread_mutexattr_setprotocol(a, protocol);
}

int pthread_mutexattr_setrobust(pthread_mutexattr_t *a, int robust) {
  REAL(pthread_mutexattr_setrobust, int, pthread_mutexattr_t *, int)
  if (robust != PTHREAD_MUTEX_STALLED) {
    write(2, "shim: robust mutex\n", 19);
    if (plain()) robust = PTHREAD_MUTEX_STALLED;
  }
  return real_pthread_mutexattr_setrobust(a, robust);
}

int pthread_mutex_lock(pthread_mutex_t *m) {
  REAL(pthread_mutex_lock, int, pthread_mutex_t *)
  int r = real_pthread_mutex_lock(m);
  if (r) trace("pthread_mutex_lock", r);
  return r;
}

int pthread_mutex_unlock(pthread_mutex_t *m) {
  REAL(pthread_mutex_unlock, int, pthread_mutex_t *)
  int r = real_pthread_mutex_unlock(m);
  if (r) trace("pthread_mutex_unlock", r);
  return r;
}

int pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m) {
  REAL(pthread_cond_wait, int, pthread_cond_t *, pthread_mutex_t *)
  int r = real_pthread_cond_wait(c, m);
  if (r) trace("pthread_cond_wait", r);
  return r;
}

int pthread_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m, const struct timespec *t) {
  REAL(pthread_cond_timedwait, int, pthread_cond_t *, pthread_mutex_t *, const struct timespec *)
  int r = real_pthread_cond_timedwait(c, m, t);
  if (r && r != ETIMEDOUT) trace("pthread_cond_timedwait", r);
  return r;
}

int pthread_cond_clockwait(pthread_cond_t *c, pthread_mutex_t *m, clockid_t clock, const struct timespec *t) {
  REAL(pthread_cond_clockwait, int, pthread_cond_t *, pthread_mutex_t *, clockid_t, const struct timespec *)
  int r = real_pthread_cond_clockwait(c, m, clock, t);
  if (r && r != ETIMEDOUT) {
    char what[96];
    snprintf(what, sizeof what, "pthread_cond_clockwait(clock %d, %ld.%09ld)", (int)clock, (long)t->tv_sec, t->tv_nsec);
    trace(what, r);
  }
  return r;
}

void __cxa_throw(void *obj, void *tinfo, void (*dest)(void *)) {
  static void (*real)(void *, void *, void (*)(void *)) __attribute__((noreturn));
  if (!real) real = dlsym(RTLD_NEXT, "__cxa_throw");
  trace("__cxa_throw", 0);
  real(obj, tinfo, dest);
}
