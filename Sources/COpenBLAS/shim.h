/* OpenBLAS's cblas.h (Debian: libopenblas-dev), found through pkg-config
 * `openblas`; it also declares openblas_get_corename and the thread calls. */
#include <cblas.h>
