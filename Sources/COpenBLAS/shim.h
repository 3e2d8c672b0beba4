#include <cblas.h>
// OpenBLAS extensions, declared in openblas_config.h / cblas.h of Debian's package.
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
