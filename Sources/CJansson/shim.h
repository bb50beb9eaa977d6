#ifndef PATCHSYNC_CJANSSON_SHIM_H
#define PATCHSYNC_CJANSSON_SHIM_H

#include <jansson.h>

#endif
