#include "hdf5_files.h"

#include <hdf5.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t quiet = PTHREAD_ONCE_INIT;

/* libhdf5 prints every failure's stack to stderr unless told not to; the
 * reasons are read back from the stack instead (see fail). */
static void silence(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

static void enter(void) {
    pthread_once(&quiet, silence);
    pthread_mutex_lock(&lock);
}

static int leave(int rc) {
    pthread_mutex_unlock(&lock);
    return rc;
}

struct reasons { char outer[256]; char inner[256]; int seen; };

static herr_t collect(unsigned n, const H5E_error2_t *e, void *data) {
    struct reasons *r = data;
    if (!e->desc || !*e->desc) return 0;
    if (!r->seen) snprintf(r->outer, sizeof r->outer, "%s", e->desc);
    snprintf(r->inner, sizeof r->inner, "%s", e->desc);
    r->seen = 1;
    (void)n;
    return 0;
}

/* what, then libhdf5's outermost and innermost reasons when it has any. */
static int fail(char *err, size_t errlen, const char *what) {
    struct reasons r = {{0}, {0}, 0};
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, collect, &r);
    H5Eclear2(H5E_DEFAULT);
    if (!r.seen) snprintf(err, errlen, "%s", what);
    else if (!strcmp(r.outer, r.inner)) snprintf(err, errlen, "%s (libhdf5: %s)", what, r.inner);
    else snprintf(err, errlen, "%s (libhdf5: %s: %s)", what, r.outer, r.inner);
    return -1;
}

int sc_h5_open(const char *path, int64_t *file, char *err, size_t errlen) {
    enter();
#if H5_VERSION_GE(1, 12, 0)
    htri_t is_hdf5 = H5Fis_accessible(path, H5P_DEFAULT);
#else
    htri_t is_hdf5 = H5Fis_hdf5(path);
#endif
    if (is_hdf5 <= 0) return leave(fail(err, errlen, "is not an HDF5 file"));
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) return leave(fail(err, errlen, "cannot be opened as an HDF5 file"));
    *file = f;
    return leave(0);
}

int sc_h5_create(const char *path, int64_t *file, char *err, size_t errlen) {
    enter();
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (f < 0) return leave(fail(err, errlen, "cannot be created as an HDF5 file"));
    *file = f;
    return leave(0);
}

int sc_h5_flush(int64_t file, char *err, size_t errlen) {
    enter();
    return leave(H5Fflush(file, H5F_SCOPE_LOCAL) < 0 ? fail(err, errlen, "could not be written to the end") : 0);
}

int sc_h5_close(int64_t file, char *err, size_t errlen) {
    enter();
    int rc = 0;
    if (H5Fflush(file, H5F_SCOPE_LOCAL) < 0) rc = fail(err, errlen, "could not be written to the end");
    if (H5Fclose(file) < 0 && rc == 0) rc = fail(err, errlen, "could not be closed");
    return leave(rc);
}

struct names { char text[512]; size_t used; int count; };

static herr_t add_name(hid_t group, const char *name, const H5L_info_t *info, void *data) {
    struct names *n = data;
    (void)group; (void)info;
    if (n->count < 12) {
        int w = snprintf(n->text + n->used, sizeof n->text - n->used, "%s'%s'", n->count ? ", " : "", name);
        if (w > 0 && n->used + (size_t)w < sizeof n->text) n->used += (size_t)w;
    } else if (n->count == 12) {
        snprintf(n->text + n->used, sizeof n->text - n->used, ", ...");
    }
    n->count++;
    return 0;
}

/* The dataset `name`, or -1 with a reason naming what the file holds. */
static hid_t open_dataset(hid_t file, const char *name, char *err, size_t errlen) {
    if (H5Lexists(file, name, H5P_DEFAULT) <= 0) {
        H5Eclear2(H5E_DEFAULT);
        struct names n = {{0}, 0, 0};
        hsize_t at = 0;
        H5Literate(file, H5_INDEX_NAME, H5_ITER_INC, &at, add_name, &n);
        H5Eclear2(H5E_DEFAULT);
        if (n.count == 0) snprintf(err, errlen, "has no dataset named '%s' (its root holds nothing)", name);
        else snprintf(err, errlen, "has no dataset named '%s' (its root holds %s)", name, n.text);
        return -1;
    }
    hid_t d = H5Dopen2(file, name, H5P_DEFAULT);
    if (d < 0) {
        char what[300];
        snprintf(what, sizeof what, "'%s' is not a dataset", name);
        fail(err, errlen, what);
    }
    return d;
}

int sc_h5_dataset_shape(int64_t file, const char *name, int64_t *dims, int *rank, char *err, size_t errlen) {
    enter();
    hid_t d = open_dataset(file, name, err, errlen);
    if (d < 0) return leave(-1);
    int rc = 0;
    hid_t type = H5Dget_type(d);
    H5T_class_t cls = type < 0 ? H5T_NO_CLASS : H5Tget_class(type);
    if (cls != H5T_FLOAT && cls != H5T_INTEGER) {
        snprintf(err, errlen, "dataset '%s' holds %s values; Caffe's HDF5 layers read floating-point or integer datasets", name,
                 cls == H5T_STRING ? "string" : cls == H5T_COMPOUND ? "compound" : cls == H5T_ENUM ? "enum" : "non-numeric");
        rc = -1;
    }
    if (type >= 0) H5Tclose(type);
    if (rc == 0) {
        hid_t space = H5Dget_space(d);
        int r = space < 0 ? -1 : H5Sget_simple_extent_ndims(space);
        if (r < 0) {
            char what[300];
            snprintf(what, sizeof what, "dataset '%s' has no readable shape", name);
            rc = fail(err, errlen, what);
        } else if (r > SC_H5_MAX_RANK) {
            snprintf(err, errlen, "dataset '%s' has %d dimensions, more than %d", name, r, SC_H5_MAX_RANK);
            rc = -1;
        } else {
            hsize_t h[SC_H5_MAX_RANK];
            H5Sget_simple_extent_dims(space, h, NULL);
            for (int i = 0; i < r; i++) dims[i] = (int64_t)h[i];
            *rank = r;
        }
        if (space >= 0) H5Sclose(space);
    }
    H5Dclose(d);
    return leave(rc);
}

int sc_h5_read_floats(int64_t file, const char *name, float *out, int64_t count, char *err, size_t errlen) {
    enter();
    hid_t d = open_dataset(file, name, err, errlen);
    if (d < 0) return leave(-1);
    int rc = 0;
    hid_t space = H5Dget_space(d);
    hssize_t n = space < 0 ? -1 : H5Sget_simple_extent_npoints(space);
    if (n != count) {
        snprintf(err, errlen, "dataset '%s' holds %lld values, %lld expected", name, (long long)n, (long long)count);
        rc = -1;
    } else if (H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) < 0) {
        char what[300];
        snprintf(what, sizeof what, "dataset '%s' could not be read", name);
        rc = fail(err, errlen, what);
    }
    if (space >= 0) H5Sclose(space);
    H5Dclose(d);
    return leave(rc);
}

static int create_rows(hid_t file, const char *name, const float *data, const hsize_t *dims, int rank,
                       char *err, size_t errlen) {
    hsize_t maxdims[SC_H5_MAX_RANK], chunk[SC_H5_MAX_RANK];
    hsize_t perRow = 1;
    for (int i = 0; i < rank; i++) {
        maxdims[i] = i == 0 ? H5S_UNLIMITED : dims[i];
        chunk[i] = i == 0 ? 1 : (dims[i] ? dims[i] : 1);
        if (i) perRow *= chunk[i];
    }
    /* About 1 MiB per chunk: rows are written a batch at a time. */
    hsize_t rows = (1u << 18) / perRow;
    chunk[0] = rows < 1 ? 1 : (rows > 4096 ? 4096 : rows);
    hid_t space = H5Screate_simple(rank, dims, maxdims);
    hid_t props = H5Pcreate(H5P_DATASET_CREATE);
    int rc = 0;
    if (space < 0 || props < 0 || H5Pset_chunk(props, rank, chunk) < 0) {
        rc = fail(err, errlen, "cannot lay out the dataset");
    } else {
        hid_t d = H5Dcreate2(file, name, H5T_NATIVE_FLOAT, space, H5P_DEFAULT, props, H5P_DEFAULT);
        if (d < 0) {
            char what[300];
            snprintf(what, sizeof what, "dataset '%s' could not be created", name);
            rc = fail(err, errlen, what);
        } else {
            if (H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0) {
                char what[300];
                snprintf(what, sizeof what, "dataset '%s' could not be written", name);
                rc = fail(err, errlen, what);
            }
            H5Dclose(d);
        }
    }
    if (props >= 0) H5Pclose(props);
    if (space >= 0) H5Sclose(space);
    return rc;
}

static int extend_rows(hid_t file, const char *name, const float *data, const hsize_t *dims, int rank,
                       char *err, size_t errlen) {
    char what[300];
    hid_t d = H5Dopen2(file, name, H5P_DEFAULT);
    if (d < 0) {
        snprintf(what, sizeof what, "dataset '%s' could not be opened", name);
        return fail(err, errlen, what);
    }
    int rc = 0;
    hid_t space = H5Dget_space(d);
    hsize_t old[SC_H5_MAX_RANK];
    int r = space < 0 ? -1 : H5Sget_simple_extent_ndims(space);
    if (r != rank) {
        snprintf(err, errlen, "dataset '%s' has %d dimensions, this batch %d", name, r, rank);
        rc = -1;
    } else {
        H5Sget_simple_extent_dims(space, old, NULL);
        for (int i = 1; i < rank && rc == 0; i++) {
            if (old[i] != dims[i]) {
                snprintf(err, errlen, "dataset '%s' has %llu values along dimension %d, this batch %llu", name,
                         (unsigned long long)old[i], i, (unsigned long long)dims[i]);
                rc = -1;
            }
        }
    }
    if (space >= 0) H5Sclose(space);
    if (rc == 0) {
        hsize_t grown[SC_H5_MAX_RANK], start[SC_H5_MAX_RANK] = {0};
        for (int i = 0; i < rank; i++) grown[i] = i == 0 ? old[0] + dims[0] : dims[i];
        start[0] = old[0];
        hid_t file_space = -1, memory = -1;
        if (H5Dset_extent(d, grown) < 0 || (file_space = H5Dget_space(d)) < 0
            || H5Sselect_hyperslab(file_space, H5S_SELECT_SET, start, NULL, dims, NULL) < 0
            || (memory = H5Screate_simple(rank, dims, NULL)) < 0
            || H5Dwrite(d, H5T_NATIVE_FLOAT, memory, file_space, H5P_DEFAULT, data) < 0) {
            snprintf(what, sizeof what, "dataset '%s' could not be extended", name);
            rc = fail(err, errlen, what);
        }
        if (memory >= 0) H5Sclose(memory);
        if (file_space >= 0) H5Sclose(file_space);
    }
    H5Dclose(d);
    return rc;
}

int sc_h5_append_floats(int64_t file, const char *name, const float *data, const int64_t *dims, int rank,
                        char *err, size_t errlen) {
    if (rank < 1 || rank > SC_H5_MAX_RANK) {
        snprintf(err, errlen, "a dataset written by rows needs 1 to %d dimensions, not %d", SC_H5_MAX_RANK, rank);
        return -1;
    }
    hsize_t h[SC_H5_MAX_RANK];
    for (int i = 0; i < rank; i++) h[i] = (hsize_t)dims[i];
    enter();
    htri_t exists = H5Lexists(file, name, H5P_DEFAULT);
    H5Eclear2(H5E_DEFAULT);
    int rc = exists > 0 ? extend_rows(file, name, data, h, rank, err, errlen)
                        : create_rows(file, name, data, h, rank, err, errlen);
    return leave(rc);
}
