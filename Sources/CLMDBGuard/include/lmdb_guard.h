#ifndef LMDB_GUARD_H
#define LMDB_GUARD_H
#include <lmdb.h>

/* liblmdb reads and writes its files through memory maps: a page of a
 * truncated or corrupted database, or of a file the full disk could not
 * extend, ends the process with SIGBUS or SIGSEGV, and its own consistency
 * checks call abort(). These wrappers run one liblmdb call with those faults
 * turned into a return value: SC_MDB_FAULT, with the signal number (or 0 for
 * a failed liblmdb assertion) in *fault; *fault is -1 when nothing faulted.
 * The environment is unusable after a fault: report the database as damaged
 * and do not call liblmdb on it again. */
#define SC_MDB_FAULT (-30000)

/* Installs the assertion callback on an environment (call once after create). */
void sc_mdb_guard_env(MDB_env *env);

int sc_mdb_env_open(MDB_env *env, const char *path, unsigned int flags, mdb_mode_t mode, int *fault);
int sc_mdb_txn_begin(MDB_env *env, unsigned int flags, MDB_txn **txn, int *fault);
int sc_mdb_dbi_open(MDB_txn *txn, MDB_dbi *dbi, int *fault);
int sc_mdb_stat(MDB_txn *txn, MDB_dbi dbi, MDB_stat *stat, int *fault);
int sc_mdb_cursor_get(MDB_cursor *cursor, MDB_val *key, MDB_val *value, MDB_cursor_op op, int *fault);
int sc_mdb_put(MDB_txn *txn, MDB_dbi dbi, MDB_val *key, MDB_val *value, unsigned int flags, int *fault);
int sc_mdb_txn_commit(MDB_txn *txn, int *fault);

#endif
