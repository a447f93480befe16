/* Open MPI (Debian: libopenmpi-dev), found through pkg-config `ompi-c`; used
 * only by the MPI build (`make mpi`, SWIFTCAFFE_MPI=1). MPI's handles are
 * macros over Open MPI's globals, which Swift cannot import: these inline
 * functions hand them over. */
#include <mpi.h>

static inline MPI_Comm sc_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype sc_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype sc_mpi_byte(void) { return MPI_BYTE; }
static inline MPI_Datatype sc_mpi_int(void) { return MPI_INT; }
static inline MPI_Op sc_mpi_sum(void) { return MPI_SUM; }
static inline MPI_Op sc_mpi_max(void) { return MPI_MAX; }
static inline MPI_Request sc_mpi_request_null(void) { return MPI_REQUEST_NULL; }
static inline void *sc_mpi_in_place(void) { return MPI_IN_PLACE; }
static inline MPI_Status *sc_mpi_statuses_ignore(void) { return MPI_STATUSES_IGNORE; }
static inline MPI_Errhandler sc_mpi_errors_return(void) { return MPI_ERRORS_RETURN; }
