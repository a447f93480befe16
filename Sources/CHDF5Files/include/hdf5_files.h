#ifndef HDF5_FILES_H
#define HDF5_FILES_H
#include <stddef.h>
#include <stdint.h>

/* The few HDF5 operations Caffe's HDF5Data and HDF5Output layers need, as
 * plain C calls: libhdf5's type constants are macros Swift cannot import,
 * and its default error handler prints a stack to stderr instead of
 * returning a reason. Every call returns 0 on success, or -1 with a
 * one-line reason in err (errlen bytes, always terminated). Handles are
 * libhdf5 file identifiers. Calls are serialised: the Debian build of
 * libhdf5 is not thread-safe. */

#define SC_H5_MAX_RANK 32

/* Opens an existing file to read. */
int sc_h5_open(const char *path, int64_t *file, char *err, size_t errlen);

/* Creates (or truncates) a file to write. */
int sc_h5_create(const char *path, int64_t *file, char *err, size_t errlen);

/* Writes what is buffered to the file. */
int sc_h5_flush(int64_t file, char *err, size_t errlen);

/* Flushes and closes; 0, or -1 when the flush failed (a full disk). */
int sc_h5_close(int64_t file, char *err, size_t errlen);

/* A dataset's dimensions (*rank of them, at most SC_H5_MAX_RANK). Only
 * datasets of floating-point or integer numbers are accepted (HDF5 converts
 * them to float on reading, as Caffe's H5LTread_dataset_float does). A
 * missing dataset is reported with the names the file's root holds. */
int sc_h5_dataset_shape(int64_t file, const char *name, int64_t *dims, int *rank, char *err, size_t errlen);

/* Reads a whole dataset as float into out, which holds count values (the
 * product of its dimensions, checked again here). */
int sc_h5_read_floats(int64_t file, const char *name, float *out, int64_t count, char *err, size_t errlen);

/* Appends rows to a float dataset: the first call creates it, chunked and
 * growable along its first dimension, with dims[1...] per row; later calls
 * must give the same per-row dimensions and add dims[0] rows. */
int sc_h5_append_floats(int64_t file, const char *name, const float *data, const int64_t *dims, int rank,
                        char *err, size_t errlen);

#endif
