#ifndef PATCHSYNC_CLIBWEBSOCKETS_SHIM_H
#define PATCHSYNC_CLIBWEBSOCKETS_SHIM_H

#include <libwebsockets.h>

/* LWS_PRE is a macro: Swift cannot see it. */
static inline size_t cpatchsync_lws_pre(void) { return LWS_PRE; }

#endif
