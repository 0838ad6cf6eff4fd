/* Looking up the embedded web files. */
#include "sup_assets.h"

#include <string.h>

const sup_asset *sup_asset_find(ws_str path)
{
    if (path.len == 1 && path.p[0] == '/') {
        path.p = "/index.html";
        path.len = strlen(path.p);
    }
    for (size_t i = 0; i < sup_nassets; i++) {
        if (strlen(sup_assets[i].path) == path.len &&
            memcmp(sup_assets[i].path, path.p, path.len) == 0)
            return &sup_assets[i];
    }
    return NULL;
}
