#ifndef PERSONA_COPENBLAS_SHIM_H
#define PERSONA_COPENBLAS_SHIM_H

// Debian's libopenblas-dev installs cblas.h under a per-variant directory
// (/usr/include/x86_64-linux-gnu/openblas-pthread/) that pkg-config puts on the
// include path; the cblas.h in /usr/include/<triple>/ is the same header via alternatives.
#include <cblas.h>

#endif
