/* Thread placement for Parallel's spinning workers (see Parallel.swift). */
#define _GNU_SOURCE
#include "kernels.h"

#include <pthread.h>
#include <sched.h>
#include <errno.h>
#include <stdio.h>

/* The CPUs the process may use, as the first worker inherited them from the
 * thread that started it (once pinned, a worker's own mask is one CPU). */
static cpu_set_t allowed;
static int allowed_known;
static pthread_once_t allowed_once = PTHREAD_ONCE_INIT;

static void capture_allowed(void) { allowed_known = sched_getaffinity(0, sizeof allowed, &allowed) == 0; }

int sc_pin_to_allowed_cpu(int skip_cpu, int k) {
    pthread_once(&allowed_once, capture_allowed);
    if (!allowed_known) return -1;
    int seen = 0;
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
        if (!CPU_ISSET(cpu, &allowed) || cpu == skip_cpu) continue;
        if (seen++ < k) continue;
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(cpu, &one);
        return pthread_setaffinity_np(pthread_self(), sizeof one, &one) == 0 ? cpu : -1;
    }
    return -1;
}

int sc_current_cpu(void) { return sched_getcpu(); }

int sc_allowed_cpu_count(void) {
    cpu_set_t mine;
    if (sched_getaffinity(0, sizeof mine, &mine) != 0) return -1;
    return CPU_COUNT(&mine);
}

/* Flushes stdout: 0, or the errno of a failed write (now or earlier). */
int sc_flush_stdout(void) {
    errno = 0;
    int failed = fflush(stdout) != 0 || ferror(stdout);
    return failed ? (errno ? errno : EIO) : 0;
}
