#define _GNU_SOURCE
#include "lmdb_guard.h"

#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>

/* One guarded call per thread at a time; outside a guarded call a fault
 * goes on to the handler that was there before (the Swift runtime's). */
static __thread sigjmp_buf *guard_jump;
static __thread int guard_signal;
static struct sigaction previous_bus, previous_segv;
static pthread_once_t installed = PTHREAD_ONCE_INIT;

static void on_fault(int sig, siginfo_t *info, void *context) {
    if (guard_jump) {
        guard_signal = sig;
        siglongjmp(*guard_jump, 1);
    }
    struct sigaction *before = sig == SIGBUS ? &previous_bus : &previous_segv;
    if (before->sa_flags & SA_SIGINFO) {
        before->sa_sigaction(sig, info, context);
    } else if (before->sa_handler != SIG_IGN && before->sa_handler != SIG_DFL) {
        before->sa_handler(sig);
    } else {
        /* Default action: put it back and let the fault happen again. */
        sigaction(sig, before, NULL);
    }
}

static void install(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_sigaction = on_fault;
    action.sa_flags = SA_SIGINFO | SA_NODEFER;
    sigemptyset(&action.sa_mask);
    sigaction(SIGBUS, &action, &previous_bus);
    sigaction(SIGSEGV, &action, &previous_segv);
}

static void on_assert(MDB_env *env, const char *message) {
    (void)env;
    (void)message;
    if (guard_jump) {
        guard_signal = 0;
        siglongjmp(*guard_jump, 1);
    }
}

void sc_mdb_guard_env(MDB_env *env) { mdb_env_set_assert(env, on_assert); }

#define GUARDED(call)                          \
    do {                                       \
        pthread_once(&installed, install);     \
        sigjmp_buf jump;                       \
        sigjmp_buf *outer = guard_jump;        \
        if (sigsetjmp(jump, 1)) {              \
            guard_jump = outer;                \
            *fault = guard_signal;             \
            return SC_MDB_FAULT;               \
        }                                      \
        guard_jump = &jump;                    \
        int rc = (call);                       \
        guard_jump = outer;                    \
        *fault = -1;                           \
        return rc;                             \
    } while (0)

int sc_mdb_env_open(MDB_env *env, const char *path, unsigned int flags, mdb_mode_t mode, int *fault) {
    GUARDED(mdb_env_open(env, path, flags, mode));
}

int sc_mdb_txn_begin(MDB_env *env, unsigned int flags, MDB_txn **txn, int *fault) {
    GUARDED(mdb_txn_begin(env, NULL, flags, txn));
}

int sc_mdb_dbi_open(MDB_txn *txn, MDB_dbi *dbi, int *fault) { GUARDED(mdb_dbi_open(txn, NULL, 0, dbi)); }

int sc_mdb_stat(MDB_txn *txn, MDB_dbi dbi, MDB_stat *stat, int *fault) { GUARDED(mdb_stat(txn, dbi, stat)); }

int sc_mdb_cursor_get(MDB_cursor *cursor, MDB_val *key, MDB_val *value, MDB_cursor_op op, int *fault) {
    GUARDED(mdb_cursor_get(cursor, key, value, op));
}

int sc_mdb_put(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, MDB_val *value, unsigned int flags, int *fault) {
    GUARDED(mdb_put(txn, dbi, key, value, flags));
}

int sc_mdb_txn_commit(MDB_txn *txn, int *fault) { GUARDED(mdb_txn_commit(txn)); }
