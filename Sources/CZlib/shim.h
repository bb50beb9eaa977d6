#ifndef PATCHSYNC_CZLIB_SHIM_H
#define PATCHSYNC_CZLIB_SHIM_H

#include <zlib.h>

/* deflateInit2 is a macro over deflateInit2_, which Swift does not import. */
static inline int cpatchsync_deflate_init_raw(z_streamp stream, int level, int window_bits, int mem_level) {
    return deflateInit2(stream, level, Z_DEFLATED, -window_bits, mem_level, Z_DEFAULT_STRATEGY);
}

#endif
