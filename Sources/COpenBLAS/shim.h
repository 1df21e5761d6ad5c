// The CBLAS interface of OpenBLAS (Debian/Ubuntu: libopenblas-dev).
#include <cblas.h>
// Thread control is an OpenBLAS extension; declared here in case the cblas.h in use omits it.
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
// The kernel set OpenBLAS chose at load time ("Haswell", "SkylakeX", …).
char *openblas_get_corename(void);
