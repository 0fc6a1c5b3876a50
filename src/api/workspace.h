/*
 * Shared by the workspace handlers (projects, directories, files, tasks,
 * exports): project access (the data scope of IAM-2), sealed names and
 * labels (CRY-1, DAT-1), and the tenant's file limits.
 */
#ifndef KURA_API_WORKSPACE_H
#define KURA_API_WORKSPACE_H

#include "api/api.h"

/* What a caller may do in a project, from least to most. */
enum ws_access { WS_NONE = 0, WS_VIEW, WS_EDIT, WS_OWN };

#define WS_NAME_MAX 255          /* bytes of a file or directory name */
#define WS_DEFAULT_MAX_BYTES (5ULL << 30)
#define WS_DEFAULT_MAX_FILES 100000ULL

/*
 * The caller's access to project pid: tenant permission projects.all
 * gives WS_OWN; otherwise the member role (viewer/editor/owner).  Replies
 * 404 (exactly as for a project that does not exist) and returns WS_NONE
 * when the caller may not see it, or 403 when they see it but have less
 * than need.  On success *ret_p (may be NULL) gets the project.
 */
enum ws_access ws_project_access(struct http_req *req, const char *pid,
    enum ws_access need, struct store_project **ret_p);
/* Name of a file or directory: 1..255 bytes of UTF-8 text without control
 * characters, not "." or "..", no "/" or "\". NULL if fine. */
const char *ws_name_check(const char *name);
/* Blind index of a name for sibling uniqueness (case-sensitive). */
kura_err ws_name_index(const struct kcrypto_tkeys *keys, const char *name,
    char ret[STORE_INDEX_MAX]);
/* Seal labels (a validated JSON array) for a row and set its label index
 * rows (inside the caller's transaction). */
kura_err ws_labels_store(struct http_req *req, const char *resource_type,
    const char *table, const char *resource_id, json_t *labels,
    struct store_blob *ret_sealed);
/* ?label=X: the ids of resources of the type carrying it (sorted), or
 * NULL list when no label filter was asked.  Replies 400 on a bad label. */
bool ws_label_filter(struct http_req *req, const char *resource_type,
    char (**ret_ids)[STORE_ID_MAX], size_t *ret_n, bool *ret_active);
bool ws_id_in(const char (*ids)[STORE_ID_MAX], size_t n, const char *id);
/* Reply 200 {"items","next_cursor"} with one keyset page of rows: n
 * structs of `stride` bytes sorted by the id at `id_off`; the rows after
 * cursor (if any) whose id is in ids (if filter), at most limit.  A row
 * that to_json cannot turn into JSON (NULL) makes the answer a 500. */
void ws_reply_page(struct http_req *req, const void *rows, size_t n,
    size_t stride, size_t id_off,
    json_t *(*to_json)(struct http_req *req, const void *row),
    const char *cursor, size_t limit, bool filter,
    const char (*ids)[STORE_ID_MAX], size_t nids);
/* The tenant's quota defaults (operators set per-tenant quotas). */
void ws_quota_defaults(uint64_t *ret_bytes, uint64_t *ret_files);
/* Remove content files after their rows were deleted (best effort:
 * failures are logged; the jobs thread sweeps orphans). */
void ws_blobs_delete(struct http_req *req, const char (*blobs)[STORE_ID_MAX],
    size_t n);
/* Reply with a content file as an attachment (type, disposition), with
 * HTTP Range (206, or 416 outside it); the first chunk is authenticated
 * before anything is sent (500 content_damaged otherwise).  On success
 * *ret_len (may be NULL) is the number of bytes that will be sent. */
kura_err ws_reply_blob(struct http_req *req, const char *blob_id,
    const char *type, const char *disposition, uint64_t *ret_len);
/* ROOT of the content files: DATA_DIR/blobs. */
const char *ws_blob_root(struct app *app);

#endif
