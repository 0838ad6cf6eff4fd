/* The admin server's static files (web/), embedded into wsfleetd at build time by
 * cmake/EmbedFiles.cmake. */
#ifndef SUP_ASSETS_H
#define SUP_ASSETS_H

#include <stddef.h>

#include "ws_http.h"

typedef struct sup_asset {
    const char *path; /* "/index.html" */
    const char *type; /* its Content-Type */
    const unsigned char *data;
    size_t len;
} sup_asset;

extern const sup_asset sup_assets[];
extern const size_t sup_nassets;

/* The file served at path ("/" is "/index.html"), or NULL. */
const sup_asset *sup_asset_find(ws_str path);

#endif
