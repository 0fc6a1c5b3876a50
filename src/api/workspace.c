#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/workspace.h"
#include "blob/blob.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/parse.h"

const char *
ws_blob_root(struct app *app)
{
	return app->blob_root;
}

void
ws_quota_defaults(uint64_t *ret_bytes, uint64_t *ret_files)
{
	*ret_bytes = WS_DEFAULT_MAX_BYTES;
	*ret_files = WS_DEFAULT_MAX_FILES;
}

enum ws_access
ws_project_access(struct http_req *req, const char *pid, enum ws_access need,
    struct store_project **ret_p)
{
	struct api_auth *a = api_auth(req);
	struct app *app = req->app;
	struct store_project *p = NULL;
	struct store_member m;
	enum ws_access have = WS_NONE;
	kura_err err;

	if (!kcrypto_id_valid(pid, "prj")) {
		http_reply_error(req, 404, "not_found", "no such resource");
		return WS_NONE;
	}
	if ((err = store_project_get(app->store, &a->ctx, pid, &p)) != KURA_OK) {
		/* another tenant's id is ENOENT too: the same 404 */
		http_reply_kura_err(req, err);
		return WS_NONE;
	}
	if (rbac_allows(a->perms, "projects.all")) {
		have = WS_OWN;
	} else if (store_member_get(app->store, &a->ctx, pid, a->user->id, &m) ==
	    KURA_OK) {
		have = strcmp(m.role, "owner") == 0 ? WS_OWN :
		    strcmp(m.role, "editor") == 0 ? WS_EDIT : WS_VIEW;
	}
	if (have == WS_NONE) {
		/* not a member: the project does not exist for this caller */
		store_project_free(p);
		http_reply_error(req, 404, "not_found", "no such resource");
		return WS_NONE;
	}
	if (have < need) {
		store_project_free(p);
		http_reply_error(req, 403, "forbidden",
		    "your role in this project does not allow this");
		return WS_NONE;
	}
	if (ret_p != NULL)
		*ret_p = p;
	else
		store_project_free(p);
	return have;
}

const char *
ws_name_check(const char *name)
{
	if (name == NULL || *name == '\0' || !kura_text_ok(name, WS_NAME_MAX))
		return "name: 1 to 255 bytes of text without control characters";
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0 ||
	    strpbrk(name, "/\\") != NULL)
		return "name: must not be . or .. nor contain / or \\";
	return NULL;
}

kura_err
ws_name_index(const struct kcrypto_tkeys *keys, const char *name,
    char ret[STORE_INDEX_MAX])
{
	return kcrypto_blind_index(keys, "ws-name", name, strlen(name), ret);
}

kura_err
ws_labels_store(struct http_req *req, const char *resource_type,
    const char *table, const char *resource_id, json_t *labels,
    struct store_blob *ret_sealed)
{
	struct api_auth *a = api_auth(req);
	struct app *app = req->app;
	char (*idx)[STORE_INDEX_MAX] = NULL;
	size_t n = labels ? json_array_size(labels) : 0, i;
	json_t *item;
	kura_err err = KURA_OK;

	memset(ret_sealed, 0, sizeof(*ret_sealed));
	if (n > 0) {
		idx = calloc(n, sizeof(*idx));
		if (idx == NULL)
			return KURA_ENOMEM;
		json_array_foreach(labels, i, item) {
			err = api_blind(a->keys, "label", json_string_value(item), idx[i]);
			if (err)
				goto out;
		}
		err = api_seal_json(a->keys, table, "labels", resource_id, labels,
		    ret_sealed);
		if (err)
			goto out;
	}
	err = store_labels_set(app->store, &a->ctx, resource_type, resource_id,
	    (const char (*)[STORE_INDEX_MAX])idx, n);
out:
	free(idx);
	return err;
}

bool
ws_label_filter(struct http_req *req, const char *resource_type,
    char (**ret_ids)[STORE_ID_MAX], size_t *ret_n, bool *ret_active)
{
	struct api_auth *a = api_auth(req);
	struct app *app = req->app;
	const char *label = http_query(req, "label");
	char idx[STORE_INDEX_MAX];

	*ret_ids = NULL;
	*ret_n = 0;
	*ret_active = label != NULL;
	if (label == NULL)
		return true;
	if (*label == '\0' || !kura_text_ok(label, 64)) {
		api_bad_field(req, "label", "1 to 64 bytes of text");
		return false;
	}
	if (api_blind(a->keys, "label", label, idx) != KURA_OK ||
	    store_labels_find(app->store, &a->ctx, resource_type, idx, ret_ids,
	    ret_n) != KURA_OK) {
		http_reply_error(req, 500, "internal", "internal error");
		return false;
	}
	return true;
}

bool
ws_id_in(const char (*ids)[STORE_ID_MAX], size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(ids[i], id) == 0)
			return true;
	return false;
}

void
ws_reply_page(struct http_req *req, const void *rows, size_t n, size_t stride,
    size_t id_off, json_t *(*to_json)(struct http_req *req, const void *row),
    const char *cursor, size_t limit, bool filter,
    const char (*ids)[STORE_ID_MAX], size_t nids)
{
	const char *last = NULL;
	json_t *items = json_array(), *next = NULL;
	size_t shown = 0;

	if (items == NULL) {
		http_reply_error(req, 500, "internal", "internal error");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		const void *row = (const char *)rows + i * stride;
		const char *id = (const char *)row + id_off;
		json_t *j;

		if ((cursor != NULL && strcmp(id, cursor) <= 0) ||
		    (filter && !ws_id_in(ids, nids, id)))
			continue;
		if (shown == limit) {
			/* more remain: the cursor is the last id shown */
			next = json_string(last);
			break;
		}
		if ((j = to_json(req, row)) == NULL) {
			log_error("request %s: a listed row does not open",
			    req->request_id);
			json_decref(items);
			http_reply_error(req, 500, "internal", "internal error");
			return;
		}
		json_array_append_new(items, j);
		last = id;
		shown++;
	}
	http_reply_json(req, 200, json_pack("{s:o,s:o}", "items", items,
	    "next_cursor", next ? next : json_null()));
}

void
ws_blobs_delete(struct http_req *req, const char (*blobs)[STORE_ID_MAX], size_t n)
{
	struct api_auth *a = api_auth(req);
	struct app *app = req->app;

	/* the rows that named these files must be gone for good first: if
	 * the change could still roll back in a crash, keep the files */
	if (n > 0 && api_durable(req) != KURA_OK) {
		log_warn("request %s: %zu content file(s) kept: the change is not "
		    "durable", req->request_id, n);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		kura_err err = blob_delete(app->blob_root, a->ctx.tenant_id, blobs[i]);
		if (err && err != KURA_ENOENT)
			log_warn("request %s: content file %s not removed: %s",
			    req->request_id, blobs[i], kura_strerror(err));
	}
}

/* ---- streamed downloads of content files ---- */

struct download {
	struct blob_reader *r;
	uint64_t start;
};

static kura_err
download_read(void *arg, uint64_t pos, char *buf, size_t len, size_t *ret_n)
{
	struct download *d = arg;
	kura_err err = blob_read(d->r, d->start + pos, buf, len, ret_n);

	/* the headers are gone: the transfer is cut, and the operator told */
	if (err)
		log_error("download cut at byte %llu: stored content failed its "
		    "integrity check (%s)", (unsigned long long)(d->start + pos),
		    kura_strerror(err));
	return err;
}

static void
download_free(void *arg)
{
	struct download *d = arg;

	blob_close(d->r);
	free(d);
}

/* "bytes=a-b", "bytes=a-", "bytes=-n" against size.  Returns 0 with the
 * range, 1 for no (or an unsupported multi-) range: the whole file, -1
 * when unsatisfiable. */
static int
parse_range(const char *h, uint64_t size, uint64_t *ret_start, uint64_t *ret_len)
{
	char a[24], b[24];
	const char *dash;
	uint64_t start, end;

	if (h == NULL || strncmp(h, "bytes=", 6) != 0 || strchr(h, ',') != NULL)
		return 1;
	h += 6;
	dash = strchr(h, '-');
	if (dash == NULL || (size_t)(dash - h) >= sizeof(a) || strlen(dash + 1) >= sizeof(b))
		return -1;
	memcpy(a, h, (size_t)(dash - h));
	a[dash - h] = '\0';
	snprintf(b, sizeof(b), "%s", dash + 1);
	if (a[0] == '\0') {             /* suffix: the last n bytes */
		if (kura_parse_u64(b, 1, UINT64_MAX, &end) != KURA_OK || size == 0)
			return -1;
		start = end > size ? 0 : size - end;
		end = size - 1;
	} else {
		if (kura_parse_u64(a, 0, UINT64_MAX, &start) != KURA_OK || start >= size)
			return -1;
		if (b[0] == '\0')
			end = size - 1;
		else if (kura_parse_u64(b, start, UINT64_MAX, &end) != KURA_OK)
			return -1;
		if (end >= size)
			end = size - 1;
	}
	*ret_start = start;
	*ret_len = end - start + 1;
	return 0;
}

kura_err
ws_reply_blob(struct http_req *req, const char *blob_id, const char *type,
    const char *disposition, uint64_t *ret_len)
{
	struct api_auth *a = api_auth(req);
	struct app *app = req->app;
	struct download *d;
	uint64_t start = 0, len, size;
	char range[96], probe;
	size_t got;
	int rng;

	d = kura_calloc(1, sizeof(*d));
	if (d == NULL)
		return KURA_ENOMEM;
	if (blob_open(app->blob_root, a->keys, blob_id, &d->r) != KURA_OK) {
		log_error("request %s: content %s cannot be opened", req->request_id,
		    blob_id);
		http_reply_error(req, 500, "content_damaged",
		    "the stored content cannot be read");
		download_free(d);
		return KURA_ECRYPTO;
	}
	size = blob_size(d->r);
	len = size;
	rng = parse_range(http_header(req, "Range"), size, &start, &len);
	if (rng < 0) {
		snprintf(range, sizeof(range), "bytes */%llu", (unsigned long long)size);
		http_reply_error(req, 416, "range_not_satisfiable",
		    "the requested range is outside the content");
		(void)http_add_header(req, "Content-Range", range);
		download_free(d);
		return KURA_ERANGE;
	}
	if (rng > 0)
		start = 0;
	/* authenticate the first chunk before any header goes out; damage
	 * further on aborts the transfer (never wrong data) */
	if (blob_read(d->r, start, &probe, size ? 1 : 0, &got) != KURA_OK) {
		log_error("request %s: content %s failed its integrity check",
		    req->request_id, blob_id);
		http_reply_error(req, 500, "content_damaged",
		    "the stored content failed its integrity check");
		download_free(d);
		return KURA_ECRYPTO;
	}
	d->start = start;
	http_reply_stream(req, rng == 0 ? 206 : 200, type, len, download_read, d,
	    download_free);
	(void)http_add_header(req, "Content-Disposition", disposition);
	(void)http_add_header(req, "Accept-Ranges", "bytes");
	if (rng == 0) {
		snprintf(range, sizeof(range), "bytes %llu-%llu/%llu",
		    (unsigned long long)start, (unsigned long long)(start + len - 1),
		    (unsigned long long)size);
		(void)http_add_header(req, "Content-Range", range);
	}
	if (ret_len != NULL)
		*ret_len = len;
	return KURA_OK;
}
