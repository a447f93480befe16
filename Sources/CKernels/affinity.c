/* Thread placement for Parallel's spinning workers (see Parallel.swift). */
#define _GNU_SOURCE
#include "kernels.h"

#include <pthread.h>
#include <sched.h>

int sc_pin_to_allowed_cpu(int skip_cpu, int k) {
    cpu_set_t allowed;
    if (sched_getaffinity(0, sizeof allowed, &allowed) != 0) return -1;
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
