/*
 * Tenant exports (DAT-4): the archive builder and its thread (exports.h).
 *
 * The archive is written by libarchive (POSIX pax tar, zstd filter) through
 * a write callback that feeds a blob_writer, so the compressed stream is
 * sealed chunk by chunk as it is produced.  Tar headers need each
 * member's size first: file versions know theirs; JSON members are
 * spooled (in memory up to EXPORTS_SPOOL_MEM, beyond that through an
 * encrypted temporary blob that is deleted afterwards) and then copied
 * in.  The SHA-256 of every member is computed as it is written and
 * listed in manifest.json, the last member.
 *
 * What goes in is what the tenant owns: decrypted names, labels and
 * contents; never password hashes, TOTP secrets, recovery codes, session
 * or token hashes, invitation hashes or wrapped keys.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <gnutls/crypto.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api.h"
#include "audit/audit.h"
#include "blob/blob.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/mem.h"
#include "jobs/exports.h"

#define COPY_BUF (256u * 1024)          /* plaintext copy buffer (wiped) */
#define PATH_MAX_LEN 128                /* member paths are ids and numbers */
#define DIRS_MAX 10000000u              /* directories walked per project */

/* ---- spools: a member whose size is known only at its end ---- */

struct spool {
	struct kbuf mem;                    /* while it fits EXPORTS_SPOOL_MEM */
	struct blob_writer *w;              /* after spilling */
	char blob_id[STORE_ID_MAX];         /* the committed spill, to delete */
	uint64_t len;
};

/* One export being built. */
struct xb {
	struct app *app;
	const struct kcrypto_tkeys *keys;
	struct store_tctx ctx;
	struct store_tenant *tenant;
	struct api_auth view;               /* api_time in the tenant's zone */
	const struct store_export *e;
	struct blob_writer *out;            /* the encrypted archive */
	struct archive *ar;
	const atomic_bool *stop;
	int64_t deadline_us;
	kura_err cb_err;                    /* first failure inside the callback */
	char *buf;                          /* COPY_BUF bytes */
	struct spool manifest;              /* one entry line per member */
	size_t n_members;
	uint64_t skipped;                   /* versions pruned while exporting */
};

static void
spool_init(struct spool *sp)
{
	memset(sp, 0, sizeof(*sp));
	kbuf_init_secret(&sp->mem, EXPORTS_SPOOL_MEM);
}

/* Remove the spool's memory and any temporary blob. */
static void
spool_free(struct xb *x, struct spool *sp)
{
	blob_writer_free(sp->w);            /* removes an uncommitted file */
	sp->w = NULL;
	if (sp->blob_id[0] != '\0')
		(void)blob_delete(x->app->blob_root, x->ctx.tenant_id, sp->blob_id);
	sp->blob_id[0] = '\0';
	kbuf_free(&sp->mem);
}

/* Append to a spool, spilling to an encrypted blob past the memory bound. */
static kura_err
spool_write(struct xb *x, struct spool *sp, const void *p, size_t n)
{
	kura_err err;

	if (n > EXPORTS_MAX_BYTES - sp->len)
		return KURA_ETOOBIG;
	if (sp->w == NULL) {
		err = kbuf_append(&sp->mem, p, n);
		if (err != KURA_ETOOBIG) {
			if (err == KURA_OK)
				sp->len += n;
			return err;
		}
		err = blob_writer_new(x->app->blob_root, x->keys, EXPORTS_MAX_BYTES,
		    &sp->w);
		if (err == KURA_OK && sp->mem.len > 0)
			err = blob_write(sp->w, sp->mem.data, sp->mem.len);
		if (err)
			return err;
		kbuf_free(&sp->mem);            /* secret: wiped */
		kbuf_init_secret(&sp->mem, EXPORTS_SPOOL_MEM);
	}
	err = blob_write(sp->w, p, n);
	if (err == KURA_OK)
		sp->len += n;
	return err;
}

static kura_err
spool_puts(struct xb *x, struct spool *sp, const char *s)
{
	return spool_write(x, sp, s, strlen(s));
}

/* ---- the archive ---- */

static bool
halted(struct xb *x, kura_err *ret)
{
	if (atomic_load(x->stop)) {
		*ret = KURA_EBUSY;
		return true;
	}
	if (kura_mono_us() > x->deadline_us) {
		*ret = KURA_ERANGE;
		return true;
	}
	return false;
}

/* libarchive's output: every compressed block goes into the sealed blob. */
static la_ssize_t
ar_write(struct archive *a, void *arg, const void *buf, size_t len)
{
	struct xb *x = arg;
	kura_err err = KURA_OK;

	if (!halted(x, &err))
		err = blob_write(x->out, buf, len);
	if (err) {
		if (x->cb_err == KURA_OK)
			x->cb_err = err;
		archive_set_error(a, EIO, "%s", kura_strerror(err));
		return -1;
	}
	return (la_ssize_t)len;
}

/* The error behind a failed archive call. */
static kura_err
ar_err(struct xb *x)
{
	return x->cb_err ? x->cb_err : KURA_EIO;
}

struct member {
	gnutls_hash_hd_t sha;
	bool sha_open;
	char path[PATH_MAX_LEN];
	uint64_t size;
	uint64_t done;
};

static void
member_clear(struct member *m)
{
	if (m->sha_open)
		gnutls_hash_deinit(m->sha, NULL);
	m->sha_open = false;
}

/* Write the tar header of a regular file of size bytes. */
static kura_err
member_begin(struct xb *x, struct member *m, const char *path, uint64_t size,
    int64_t mtime_us)
{
	struct archive_entry *ent;
	kura_err err = KURA_OK;

	memset(m, 0, sizeof(*m));
	if (strlen(path) >= sizeof(m->path) || size > INT64_MAX)
		return KURA_EINVAL;
	snprintf(m->path, sizeof(m->path), "%s", path);
	m->size = size;
	if (gnutls_hash_init(&m->sha, GNUTLS_DIG_SHA256) < 0)
		return KURA_ENOMEM;
	m->sha_open = true;
	if ((ent = archive_entry_new()) == NULL)
		return KURA_ENOMEM;
	archive_entry_set_pathname(ent, path);
	archive_entry_set_filetype(ent, AE_IFREG);
	archive_entry_set_perm(ent, 0600);
	archive_entry_set_size(ent, (la_int64_t)size);
	archive_entry_set_mtime(ent, (time_t)(mtime_us / 1000000), 0);
	if (archive_write_header(x->ar, ent) != ARCHIVE_OK)
		err = ar_err(x);
	archive_entry_free(ent);
	return err;
}

static kura_err
member_data(struct xb *x, struct member *m, const void *p, size_t n)
{
	la_ssize_t w;

	if (n == 0)
		return KURA_OK;
	if (n > m->size - m->done)
		return KURA_EINTERNAL;
	if (gnutls_hash(m->sha, p, n) < 0)
		return KURA_ENOMEM;
	w = archive_write_data(x->ar, p, n);
	if (w < 0 || (size_t)w != n)
		return ar_err(x);
	m->done += n;
	return KURA_OK;
}

/* Finish the member and note it in the manifest; ret_sha (may be NULL)
 * gets its SHA-256 hex. */
static kura_err
member_end(struct xb *x, struct member *m, char ret_sha[BLOB_SHA256_HEX + 1])
{
	unsigned char digest[32];
	char hex[BLOB_SHA256_HEX + 1];
	json_t *j;
	char *s;
	kura_err err;

	if (m->done != m->size)
		return KURA_EINTERNAL;
	if (archive_write_finish_entry(x->ar) != ARCHIVE_OK)
		return ar_err(x);
	gnutls_hash_output(m->sha, digest);
	for (size_t i = 0; i < sizeof(digest); i++)
		snprintf(hex + 2 * i, 3, "%02x", digest[i]);
	j = json_pack("{s:s,s:I,s:s}", "path", m->path, "size", (json_int_t)m->size,
	    "sha256", hex);
	s = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (s == NULL)
		return KURA_ENOMEM;
	err = spool_puts(x, &x->manifest, x->n_members ? ",\n" : "\n");
	if (err == KURA_OK)
		err = spool_puts(x, &x->manifest, s);
	free(s);
	if (err == KURA_OK)
		x->n_members++;
	if (err == KURA_OK && ret_sha != NULL)
		memcpy(ret_sha, hex, sizeof(hex));
	return err;
}

/* Copy n bytes of an open blob into the current member. */
static kura_err
copy_blob(struct xb *x, struct member *m, struct blob_reader *r, uint64_t n)
{
	uint64_t pos = 0;
	size_t got;
	kura_err err = KURA_OK;

	while (err == KURA_OK && pos < n) {
		size_t want = n - pos < COPY_BUF ? (size_t)(n - pos) : COPY_BUF;
		if (halted(x, &err))
			break;
		err = blob_read(r, pos, x->buf, want, &got);
		if (err == KURA_OK && got == 0)
			err = KURA_EIO;         /* shorter than it said */
		if (err == KURA_OK)
			err = member_data(x, m, x->buf, got);
		pos += got;
	}
	return err;
}

/*
 * Write a spool as member path: prefix, the spooled bytes, suffix (either
 * may be NULL).  The spool is freed either way.
 */
static kura_err
member_from_spool(struct xb *x, const char *path, const char *prefix,
    struct spool *sp, const char *suffix)
{
	struct blob_reader *r = NULL;
	struct member m;
	char id[STORE_ID_MAX], sha[BLOB_SHA256_HEX + 1];
	size_t plen = prefix ? strlen(prefix) : 0, slen = suffix ? strlen(suffix) : 0;
	uint64_t size = 0;
	kura_err err = KURA_OK;

	memset(&m, 0, sizeof(m));
	if (sp->w != NULL) {
		err = blob_commit(sp->w, id, &size, sha);
		blob_writer_free(sp->w);
		sp->w = NULL;
		if (err)
			goto out;
		snprintf(sp->blob_id, sizeof(sp->blob_id), "%s", id);
		if ((err = blob_open(x->app->blob_root, x->keys, id, &r)))
			goto out;
		if (blob_size(r) != sp->len) {
			err = KURA_EINTERNAL;
			goto out;
		}
	}
	if ((err = member_begin(x, &m, path, plen + sp->len + slen,
	    x->e->created_us)))
		goto out;
	if ((err = member_data(x, &m, prefix, plen)))
		goto out;
	if (r != NULL)
		err = copy_blob(x, &m, r, sp->len);
	else
		err = member_data(x, &m, sp->mem.data, sp->mem.len);
	if (err == KURA_OK)
		err = member_data(x, &m, suffix, slen);
	if (err == KURA_OK)
		err = member_end(x, &m, NULL);
out:
	blob_close(r);
	member_clear(&m);
	spool_free(x, sp);
	return err;
}

/* A small member held in memory (whole). */
static kura_err
member_from_mem(struct xb *x, const char *path, const char *data, size_t len)
{
	struct member m;
	kura_err err;

	err = member_begin(x, &m, path, len, x->e->created_us);
	if (err == KURA_OK)
		err = member_data(x, &m, data, len);
	if (err == KURA_OK)
		err = member_end(x, &m, NULL);
	member_clear(&m);
	return err;
}

/* ---- JSON members ---- */

/* A JSON array written one record per line. */
struct jlist {
	struct spool sp;
	size_t n;
};

/* Append item (taken; NULL means the record could not be built). */
static kura_err
jlist_add(struct xb *x, struct jlist *l, json_t *item)
{
	char *s;
	kura_err err;

	if (item == NULL)
		return KURA_ENOMEM;
	s = json_dumps(item, JSON_COMPACT);
	json_decref(item);
	if (s == NULL)
		return KURA_ENOMEM;
	err = spool_puts(x, &l->sp, l->n ? ",\n" : "[\n");
	if (err == KURA_OK)
		err = spool_puts(x, &l->sp, s);
	kura_free_secret_str(s);
	if (err == KURA_OK)
		l->n++;
	return err;
}

static kura_err
jlist_finish(struct xb *x, struct jlist *l, const char *path)
{
	kura_err err = spool_puts(x, &l->sp, l->n ? "\n]\n" : "[]\n");

	if (err) {
		spool_free(x, &l->sp);
		return err;
	}
	return member_from_spool(x, path, NULL, &l->sp, NULL);
}

/* One JSON document as a member. */
static kura_err
member_json(struct xb *x, const char *path, json_t *doc)
{
	char *s;
	kura_err err;

	if (doc == NULL)
		return KURA_ENOMEM;
	s = json_dumps(doc, JSON_INDENT(2));
	json_decref(doc);
	if (s == NULL)
		return KURA_ENOMEM;
	err = member_from_mem(x, path, s, strlen(s));
	kura_free_secret_str(s);
	return err;
}

/* Sealed string -> JSON string; an absent value is null.  Sets *err (once)
 * and returns NULL when it does not open. */
static json_t *
open_str(struct xb *x, const char *table, const char *column, const char *row,
    const struct store_blob *b, kura_err *err)
{
	json_t *j;

	if (*err)
		return NULL;
	if (b->data == NULL || b->len == 0)
		return json_null();
	if ((j = api_open_json(x->keys, table, column, row, b)) == NULL)
		*err = KURA_ECRYPTO;
	return j;
}

/* As open_str for optional text (descriptions): absent is "", as the API
 * shows it. */
static json_t *
open_text(struct xb *x, const char *table, const char *column, const char *row,
    const struct store_blob *b, kura_err *err)
{
	json_t *j;

	if (*err)
		return NULL;
	if (b->data == NULL || b->len == 0)
		return json_string("");
	if ((j = api_open_json(x->keys, table, column, row, b)) == NULL)
		*err = KURA_ECRYPTO;
	return j;
}

/* Sealed labels -> JSON array (empty when absent). */
static json_t *
open_labels(struct xb *x, const char *table, const char *row,
    const struct store_blob *b, kura_err *err)
{
	json_t *j;

	if (*err)
		return NULL;
	j = api_open_json_value(x->keys, table, "labels", row, b);
	if (j == NULL || !json_is_array(j)) {
		json_decref(j);
		*err = KURA_ECRYPTO;
		return NULL;
	}
	return j;
}

static json_t *
when(struct xb *x, int64_t us)
{
	return api_time(&x->view, us);
}

/* Finish a record built from opened values: the first error wins. */
static kura_err
record_add(struct xb *x, struct jlist *l, json_t *rec, kura_err open_err)
{
	if (open_err) {
		json_decref(rec);
		return open_err;
	}
	return jlist_add(x, l, rec);
}

/* ---- the tenant's records ---- */

static kura_err
put_tenant(struct xb *x)
{
	const struct store_tenant *t = x->tenant;
	kura_err err = KURA_OK;
	json_t *doc;

	doc = json_pack("{s:s,s:s,s:o,s:I,s:s,s:s,s:s,s:o,s:o}", "id", t->id,
	    "contract_id", t->contract_id,
	    "name", open_str(x, "tenants", "name", t->id, &t->name, &err),
	    "seats", (json_int_t)t->seats, "status", t->status, "region", t->region,
	    "timezone", t->timezone, "created", when(x, t->created_us),
	    "updated", when(x, t->updated_us));
	if (err) {
		json_decref(doc);
		return err;
	}
	return member_json(x, "tenant.json", doc);
}

/* Users: identity, status, roles and MFA state; no credentials. */
static kura_err
put_users(struct xb *x)
{
	struct store_user *list = NULL;
	struct jlist l;
	size_t n = 0;
	kura_err err;

	memset(&l, 0, sizeof(l));
	spool_init(&l.sp);
	err = store_user_list(x->app->store, &x->ctx, &list, &n);
	for (size_t i = 0; err == KURA_OK && i < n; i++) {
		const struct store_user *u = &list[i];
		kura_err oe = KURA_OK;
		json_t *rec = json_pack("{s:s,s:o,s:o,s:o,s:s,s:o,s:b,s:b,s:b,s:o,s:o,s:o,s:o}",
		    "id", u->id,
		    "login_id", open_str(x, "users", "login_id", u->id, &u->login_id, &oe),
		    "email", open_str(x, "users", "email", u->id, &u->email, &oe),
		    "display_name", open_str(x, "users", "display_name", u->id,
		    &u->display_name, &oe),
		    "status", u->status, "roles", api_csv_array(u->roles),
		    "mfa_enabled", (int)u->mfa_enabled,
		    "must_change_password", (int)u->must_change_password,
		    "locked", u->locked_until_us > kura_now_us(),
		    "last_login", when(x, u->last_login_us),
		    "password_changed", when(x, u->password_changed_us),
		    "created", when(x, u->created_us), "updated", when(x, u->updated_us));
		err = record_add(x, &l, rec, oe);
	}
	store_user_list_free(list, n);
	if (err == KURA_OK)
		return jlist_finish(x, &l, "users.json");
	spool_free(x, &l.sp);
	return err;
}

/* Built-in roles with their permissions, then the custom roles. */
static kura_err
put_roles(struct xb *x)
{
	static const char *const builtin[] = { RBAC_ROLE_ADMIN, RBAC_ROLE_MEMBER };
	struct store_role *list = NULL;
	struct jlist l;
	size_t n = 0;
	kura_err err = KURA_OK;

	memset(&l, 0, sizeof(l));
	spool_init(&l.sp);
	for (size_t i = 0; err == KURA_OK && i < sizeof(builtin) / sizeof(builtin[0]);
	    i++) {
		rbac_perms p = 0;
		char *csv;
		if (!rbac_builtin(builtin[i], &p) || (csv = rbac_format(p)) == NULL) {
			err = KURA_ENOMEM;
			break;
		}
		err = jlist_add(x, &l, json_pack("{s:n,s:s,s:b,s:o,s:o}", "id", "name",
		    builtin[i], "builtin", 1, "labels", json_array(),
		    "permissions", api_csv_array(csv)));
		free(csv);
	}
	if (err == KURA_OK)
		err = store_role_list(x->app->store, &x->ctx, &list, &n);
	for (size_t i = 0; err == KURA_OK && i < n; i++) {
		const struct store_role *r = &list[i];
		kura_err oe = KURA_OK;
		json_t *rec = json_pack("{s:s,s:o,s:b,s:o,s:o,s:o,s:o}", "id", r->id,
		    "name", open_str(x, "roles", "name", r->id, &r->name, &oe),
		    "builtin", 0,
		    "labels", open_labels(x, "roles", r->id, &r->labels, &oe),
		    "permissions", api_csv_array(r->permissions),
		    "created", when(x, r->created_us), "updated", when(x, r->updated_us));
		err = record_add(x, &l, rec, oe);
	}
	store_role_list_free(list, n);
	if (err == KURA_OK)
		return jlist_finish(x, &l, "roles.json");
	spool_free(x, &l.sp);
	return err;
}

/* API tokens: metadata only, never the secret or its hash. */
static kura_err
put_tokens(struct xb *x)
{
	struct store_token *list = NULL;
	struct jlist l;
	size_t n = 0;
	kura_err err;

	memset(&l, 0, sizeof(l));
	spool_init(&l.sp);
	err = store_token_list(x->app->store, &x->ctx, NULL, &list, &n);
	for (size_t i = 0; err == KURA_OK && i < n; i++) {
		const struct store_token *t = &list[i];
		kura_err oe = KURA_OK;
		json_t *rec = json_pack("{s:s,s:s,s:o,s:o,s:o,s:o,s:o,s:o}", "id", t->id,
		    "user_id", t->user_id,
		    "name", open_str(x, "api_tokens", "name", t->id, &t->name, &oe),
		    "labels", open_labels(x, "api_tokens", t->id, &t->labels, &oe),
		    "permissions", api_csv_array(t->permissions),
		    "expires", when(x, t->expires_us),
		    "last_used", when(x, t->last_used_us),
		    "created", when(x, t->created_us));
		err = record_add(x, &l, rec, oe);
	}
	store_token_list_free(list, n);
	if (err == KURA_OK)
		return jlist_finish(x, &l, "tokens.json");
	spool_free(x, &l.sp);
	return err;
}

static kura_err
put_settings(struct xb *x)
{
	struct auth_settings s;
	kura_err err;

	err = api_settings_load(x->app, &x->ctx, x->keys, &s);
	if (err)
		return err;
	return member_json(x, "settings.json", json_pack("{s:o}", "security",
	    auth_settings_to_json(&s)));
}

/* Projects with their members. */
static kura_err
put_projects(struct xb *x, const struct store_project *list, size_t n)
{
	struct jlist l;
	kura_err err = KURA_OK;

	memset(&l, 0, sizeof(l));
	spool_init(&l.sp);
	for (size_t i = 0; err == KURA_OK && i < n; i++) {
		const struct store_project *p = &list[i];
		struct store_member *mem = NULL;
		size_t nm = 0;
		kura_err oe = KURA_OK;
		json_t *members, *rec;

		if ((err = store_member_list(x->app->store, &x->ctx, p->id, &mem, &nm)))
			break;
		members = json_array();
		for (size_t k = 0; members != NULL && k < nm; k++)
			if (json_array_append_new(members, json_pack("{s:s,s:s,s:o}",
			    "user_id", mem[k].user_id, "role", mem[k].role,
			    "added", when(x, mem[k].added_us))) != 0)
				oe = KURA_ENOMEM;
		free(mem);
		rec = json_pack("{s:s,s:o,s:o,s:o,s:s,s:o,s:o,s:o}", "id", p->id,
		    "name", open_str(x, "projects", "name", p->id, &p->name, &oe),
		    "description", open_text(x, "projects", "description", p->id,
		    &p->description, &oe),
		    "labels", open_labels(x, "projects", p->id, &p->labels, &oe),
		    "created_by", p->created_by, "created", when(x, p->created_us),
		    "updated", when(x, p->updated_us), "members", members);
		err = record_add(x, &l, rec, oe);
	}
	if (err == KURA_OK)
		return jlist_finish(x, &l, "projects.json");
	spool_free(x, &l.sp);
	return err;
}

/* The stored SHA-256 of a version must be what its content hashes to. */
static kura_err
check_sha(struct xb *x, const struct store_file_version *v, const char *got)
{
	uint8_t *pt = NULL;
	size_t len = 0;
	kura_err err;

	err = kcrypto_open(x->keys, "file_versions", "sha256", v->blob_id,
	    v->sha256.data, v->sha256.len, &pt, &len);
	if (err)
		return err;
	if (len != BLOB_SHA256_HEX || memcmp(pt, got, len) != 0)
		err = KURA_ECRYPTO;
	kura_wipe(pt, len);
	free(pt);
	return err;
}

/*
 * One file: the content of each kept version as files/<id>/<version>,
 * then its record (with the versions actually exported: one pruned by a
 * concurrent upload meanwhile is left out).
 */
static kura_err
put_file(struct xb *x, struct jlist *files, const struct store_file *f)
{
	struct store_file_version *vers = NULL;
	struct blob_reader *r = NULL;
	struct member m;
	size_t nv = 0;
	kura_err err, oe = KURA_OK;
	json_t *varr = json_array(), *rec;

	memset(&m, 0, sizeof(m));
	if (varr == NULL)
		return KURA_ENOMEM;
	err = store_version_list(x->app->store, &x->ctx, f->id, &vers, &nv);
	for (size_t i = nv; err == KURA_OK && i-- > 0;) {   /* oldest first */
		const struct store_file_version *v = &vers[i];
		char path[PATH_MAX_LEN], sha[BLOB_SHA256_HEX + 1];
		json_t *vj;

		err = blob_open(x->app->blob_root, x->keys, v->blob_id, &r);
		if (err == KURA_ENOENT) {
			x->skipped++;
			err = KURA_OK;
			continue;
		}
		if (err)
			break;
		if (blob_size(r) != v->size) {
			err = KURA_ECRYPTO;
			break;
		}
		snprintf(path, sizeof(path), "files/%s/%u", f->id, v->version);
		err = member_begin(x, &m, path, v->size, v->created_us);
		if (err == KURA_OK)
			err = copy_blob(x, &m, r, v->size);
		if (err == KURA_OK)
			err = member_end(x, &m, sha);
		member_clear(&m);
		blob_close(r);
		r = NULL;
		if (err == KURA_OK)
			err = check_sha(x, v, sha);
		if (err)
			break;
		vj = json_pack("{s:I,s:I,s:s,s:o,s:s,s:o,s:s}",
		    "version", (json_int_t)v->version, "size", (json_int_t)v->size,
		    "sha256", sha,
		    "content_type", v->content_type.data && v->content_type.len ?
		    open_str(x, "file_versions", "content_type", v->blob_id,
		    &v->content_type, &oe) : json_string("application/octet-stream"),
		    "uploaded_by", v->uploaded_by, "created", when(x, v->created_us),
		    "path", path);
		if (vj == NULL || json_array_append_new(varr, vj) != 0)
			err = oe ? oe : KURA_ENOMEM;
	}
	blob_close(r);
	store_version_list_free(vers, nv);
	if (err) {
		json_decref(varr);
		return err;
	}
	rec = json_pack("{s:s,s:s,s:o,s:o,s:o,s:s,s:I,s:s,s:o,s:o,s:o}", "id", f->id,
	    "project_id", f->project_id,
	    "directory_id", f->directory_id[0] ? json_string(f->directory_id) :
	    json_null(),
	    "name", open_str(x, "files", "name", f->id, &f->name, &oe),
	    "labels", open_labels(x, "files", f->id, &f->labels, &oe),
	    "kind", f->kind, "current_version", (json_int_t)f->current_version,
	    "created_by", f->created_by, "created", when(x, f->created_us),
	    "updated", when(x, f->updated_us), "versions", varr);
	return record_add(x, files, rec, oe);
}

/*
 * Walk one project's tree breadth first: each directory's files (with
 * their content) and child directories.  The queue holds ids only.
 */
static kura_err
put_tree(struct xb *x, const struct store_project *p, struct jlist *dirs,
    struct jlist *files)
{
	char (*queue)[STORE_ID_MAX] = NULL;
	size_t nq = 1, cap = 16, head = 0;
	kura_err err = KURA_OK;

	if ((queue = kura_mallocarray(cap, sizeof(*queue))) == NULL)
		return KURA_ENOMEM;
	queue[0][0] = '\0';                 /* STORE_ROOT_DIR */
	while (err == KURA_OK && head < nq) {
		char parent[STORE_ID_MAX];
		struct store_file *fl = NULL;
		struct store_dir *dl = NULL;
		size_t nf = 0, nd = 0;

		memcpy(parent, queue[head++], sizeof(parent));
		err = store_file_list(x->app->store, &x->ctx, p->id, parent, &fl, &nf);
		for (size_t i = 0; err == KURA_OK && i < nf; i++)
			if (!halted(x, &err))
				err = put_file(x, files, &fl[i]);
		store_file_list_free(fl, nf);
		if (err == KURA_OK)
			err = store_dir_list(x->app->store, &x->ctx, p->id, parent, &dl, &nd);
		for (size_t i = 0; err == KURA_OK && i < nd; i++) {
			const struct store_dir *d = &dl[i];
			kura_err oe = KURA_OK;
			json_t *rec = json_pack("{s:s,s:s,s:o,s:o,s:o,s:o,s:o}", "id", d->id,
			    "project_id", d->project_id,
			    "parent_id", d->parent_id[0] ? json_string(d->parent_id) :
			    json_null(),
			    "name", open_str(x, "directories", "name", d->id, &d->name, &oe),
			    "labels", open_labels(x, "directories", d->id, &d->labels, &oe),
			    "created", when(x, d->created_us),
			    "updated", when(x, d->updated_us));
			err = record_add(x, dirs, rec, oe);
			if (err == KURA_OK && nq == cap) {
				void *grown = cap < DIRS_MAX ?
				    kura_reallocarray(queue, cap * 2, sizeof(*queue)) : NULL;
				if (grown == NULL)
					err = cap < DIRS_MAX ? KURA_ENOMEM : KURA_ETOOBIG;
				else {
					queue = grown;
					cap *= 2;
				}
			}
			if (err == KURA_OK)
				memcpy(queue[nq++], d->id, STORE_ID_MAX);
		}
		store_dir_list_free(dl, nd);
	}
	free(queue);
	return err;
}

/* Tasks of every project, with the ids of their linked files. */
static kura_err
put_tasks(struct xb *x, const struct store_project *projects, size_t np)
{
	struct jlist l;
	kura_err err = KURA_OK;

	memset(&l, 0, sizeof(l));
	spool_init(&l.sp);
	for (size_t i = 0; err == KURA_OK && i < np; i++) {
		struct store_task *list = NULL;
		size_t n = 0;

		err = store_task_list(x->app->store, &x->ctx, projects[i].id, NULL, NULL,
		    &list, &n);
		for (size_t k = 0; err == KURA_OK && k < n; k++) {
			const struct store_task *t = &list[k];
			char (*ids)[STORE_ID_MAX] = NULL;
			size_t nids = 0;
			kura_err oe = KURA_OK;
			json_t *links, *rec;

			if ((err = store_task_files(x->app->store, &x->ctx, t->id, &ids,
			    &nids)))
				break;
			links = json_array();
			for (size_t j = 0; links != NULL && j < nids; j++)
				if (json_array_append_new(links, json_string(ids[j])) != 0)
					oe = KURA_ENOMEM;
			free(ids);
			rec = json_pack("{s:s,s:s,s:o,s:o,s:o,s:s,s:o,s:o,s:s,s:o,s:o,s:o}",
			    "id", t->id, "project_id", t->project_id,
			    "title", open_str(x, "tasks", "title", t->id, &t->title, &oe),
			    "description", open_text(x, "tasks", "description", t->id,
			    &t->description, &oe),
			    "labels", open_labels(x, "tasks", t->id, &t->labels, &oe),
			    "status", t->status,
			    "assignee_id", t->assignee_id[0] ? json_string(t->assignee_id) :
			    json_null(),
			    "due", when(x, t->due_us), "created_by", t->created_by,
			    "created", when(x, t->created_us),
			    "updated", when(x, t->updated_us), "file_ids", links);
			err = record_add(x, &l, rec, oe);
		}
		store_task_list_free(list, n);
	}
	if (err == KURA_OK)
		return jlist_finish(x, &l, "tasks.json");
	spool_free(x, &l.sp);
	return err;
}

/* Projects, their trees with file contents, and tasks. */
static kura_err
put_workspace(struct xb *x)
{
	struct store_project *projects = NULL;
	struct jlist dirs, files;
	size_t np = 0;
	kura_err err;

	memset(&dirs, 0, sizeof(dirs));
	memset(&files, 0, sizeof(files));
	spool_init(&dirs.sp);
	spool_init(&files.sp);
	err = store_project_list(x->app->store, &x->ctx, NULL, &projects, &np);
	if (err == KURA_OK)
		err = put_projects(x, projects, np);
	for (size_t i = 0; err == KURA_OK && i < np; i++)
		err = put_tree(x, &projects[i], &dirs, &files);
	if (err == KURA_OK)
		err = jlist_finish(x, &dirs, "directories.json");
	if (err == KURA_OK)
		err = jlist_finish(x, &files, "files.json");
	if (err == KURA_OK)
		err = put_tasks(x, projects, np);
	spool_free(x, &dirs.sp);
	spool_free(x, &files.sp);
	store_project_list_free(projects, np);
	return err;
}

struct audit_sink {
	struct xb *x;
	struct spool *sp;
};

static kura_err
audit_line(void *arg, const char *line, size_t len)
{
	struct audit_sink *k = arg;
	kura_err err = KURA_OK;

	if (halted(k->x, &err))
		return err;
	return spool_write(k->x, k->sp, line, len);
}

/* The tenant's verifiable audit export and the key to check it with. */
static kura_err
put_audit(struct xb *x, char pk[64])
{
	struct spool sp;
	struct audit_sink sink = { x, &sp };
	kura_err err;

	spool_init(&sp);
	err = audit_public_key(x->app->cfg->audit_key, pk);
	if (err == KURA_OK)
		err = audit_export(x->app->store, x->ctx.tenant_id, pk, audit_line,
		    &sink);
	if (err == KURA_OK)
		err = member_from_spool(x, "audit.jsonl", NULL, &sp, NULL);
	spool_free(x, &sp);         /* no-op after member_from_spool */
	if (err == KURA_OK) {
		char line[80];
		snprintf(line, sizeof(line), "%s\n", pk);
		err = member_from_mem(x, "audit-public-key.txt", line, strlen(line));
	}
	return err;
}

/* manifest.json, the last member: the export's identity and every other
 * member's path, size and SHA-256. */
static kura_err
put_manifest(struct xb *x, const char *pk)
{
	json_t *head;
	char *s, *prefix;
	kura_err err;

	head = json_pack("{s:s,s:i,s:s,s:s,s:s,s:o,s:I,s:s,s:I,s:I}",
	    "format", "kura-tenant-export", "version", EXPORTS_FORMAT_VERSION,
	    "export_id", x->e->id, "tenant_id", x->tenant->id,
	    "contract_id", x->tenant->contract_id,
	    "created", when(x, x->e->created_us),
	    "created_us", (json_int_t)x->e->created_us, "audit_public_key", pk,
	    "versions_skipped", (json_int_t)x->skipped,
	    "member_count", (json_int_t)x->n_members);
	s = head ? json_dumps(head, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	json_decref(head);
	if (s == NULL)
		return KURA_ENOMEM;
	/* {...} -> {...,"members":[ <entries> ]} */
	s[strlen(s) - 1] = '\0';
	prefix = kbuf_strdupf(4096, "%s,\"members\":[", s);
	free(s);
	if (prefix == NULL)
		return KURA_ENOMEM;
	err = member_from_spool(x, "manifest.json", prefix, &x->manifest, "\n]}\n");
	free(prefix);
	return err;
}

kura_err
exports_build(struct app *app, const struct store_export *e,
    const atomic_bool *stop, int64_t deadline_us, char ret_blob[STORE_ID_MAX],
    uint64_t *ret_size)
{
	struct kcrypto_tkeys *keys = NULL;
	struct xb x;
	char id[STORE_ID_MAX], sha[BLOB_SHA256_HEX + 1], pk[64];
	uint64_t size = 0;
	kura_err err;

	memset(&x, 0, sizeof(x));
	spool_init(&x.manifest);
	x.app = app;
	x.e = e;
	x.stop = stop;
	x.deadline_us = deadline_us;
	snprintf(x.ctx.tenant_id, sizeof(x.ctx.tenant_id), "%s", e->tenant_id);
	if ((err = app_tenant_keys(app, &x.ctx, &keys)) ||
	    (err = store_tenant_get(app->store, e->tenant_id, &x.tenant)))
		goto out;
	x.keys = keys;
	x.view.tenant = x.tenant;
	if ((x.buf = malloc(COPY_BUF)) == NULL) {
		err = KURA_ENOMEM;
		goto out;
	}
	if ((err = blob_writer_new(app->blob_root, keys, EXPORTS_MAX_BYTES, &x.out)))
		goto out;
	if ((x.ar = archive_write_new()) == NULL) {
		err = KURA_ENOMEM;
		goto out;
	}
	if (archive_write_set_format_pax_restricted(x.ar) != ARCHIVE_OK ||
	    archive_write_add_filter_zstd(x.ar) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(x.ar, 1) != ARCHIVE_OK ||
	    archive_write_open2(x.ar, &x, NULL, ar_write, NULL, NULL) != ARCHIVE_OK) {
		err = ar_err(&x);
		goto out;
	}
	if ((err = put_tenant(&x)) || (err = put_users(&x)) ||
	    (err = put_roles(&x)) || (err = put_tokens(&x)) ||
	    (err = put_settings(&x)) || (err = put_workspace(&x)) ||
	    (err = put_audit(&x, pk)) || (err = put_manifest(&x, pk)))
		goto out;
	if (archive_write_close(x.ar) != ARCHIVE_OK) {
		err = ar_err(&x);
		goto out;
	}
	if ((err = blob_commit(x.out, id, &size, sha)))
		goto out;
	snprintf(ret_blob, STORE_ID_MAX, "%s", id);
	*ret_size = size;
out:
	if (x.ar != NULL)
		archive_write_free(x.ar);   /* after close: only frees */
	blob_writer_free(x.out);            /* uncommitted: removed */
	spool_free(&x, &x.manifest);
	if (x.buf != NULL) {
		kura_wipe(x.buf, COPY_BUF);
		free(x.buf);
	}
	store_tenant_free(x.tenant);
	kcrypto_tkeys_free(keys);
	return err;
}

/* ---- state changes, each with its system audit record ---- */

/* Write e's row; with action, an audit record of the tenant in the same
 * transaction (detail is taken). */
static kura_err
save(struct app *app, const struct store_export *e, const char *action,
    const char *outcome, json_t *detail)
{
	struct store_tctx ctx;
	struct store_audit row;
	struct audit_rec r;
	bool have_rec = false;
	kura_err err;

	memset(&row, 0, sizeof(row));
	memset(&r, 0, sizeof(r));
	snprintf(ctx.tenant_id, sizeof(ctx.tenant_id), "%s", e->tenant_id);
	if (action != NULL) {
		if ((err = audit_rec_init(&r, e->tenant_id, "system", "exports", action)))
			goto out;
		have_rec = true;
		snprintf(r.resource_type, sizeof(r.resource_type), "export");
		snprintf(r.resource_id, sizeof(r.resource_id), "%s", e->id);
		snprintf(r.outcome, sizeof(r.outcome), "%s", outcome);
		r.detail = detail;
		detail = NULL;
	}
	if ((err = store_begin(app->store)))
		goto out;
	err = store_export_update(app->store, &ctx, e);
	if (err == KURA_OK && have_rec)
		err = audit_append_tx(app->store, &r, &row);
	if (err == KURA_OK)
		err = store_commit(app->store);
	if (err)
		(void)store_rollback(app->store);
	else if (have_rec)
		audit_notify(&row);
out:
	json_decref(detail);
	if (have_rec)
		audit_rec_clear(&r);
	store_audit_clear(&row);
	return err;
}

kura_err
exports_expire(struct app *app, int64_t now_us, size_t *ret_n)
{
	struct store_export *list = NULL;
	size_t n = 0, done = 0;
	kura_err err;

	err = store_export_expired(app->store, now_us, &list, &n);
	for (size_t i = 0; err == KURA_OK && i < n; i++) {
		struct store_export *e = &list[i];
		kura_err e2 = KURA_OK;

		if (e->blob_id[0] != '\0')
			e2 = blob_delete(app->blob_root, e->tenant_id, e->blob_id);
		if (e2 != KURA_OK && e2 != KURA_ENOENT) {
			log_warn("exports: archive of %s not removed: %s", e->id,
			    kura_strerror(e2));
			continue;           /* stays ready-but-expired: next round */
		}
		snprintf(e->status, sizeof(e->status), "expired");
		e->blob_id[0] = '\0';
		err = save(app, e, "export.expire", "success", NULL);
		if (err == KURA_OK)
			done++;
	}
	free(list);
	if (err == KURA_OK && ret_n != NULL)
		*ret_n = done;
	return err;
}

/* ---- the thread ---- */

struct exports {
	struct app *app;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	atomic_bool stop;
	bool kicked;
};

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static struct exports *g_running;

void
exports_kick(void)
{
	pthread_mutex_lock(&g_lock);
	if (g_running != NULL) {
		pthread_mutex_lock(&g_running->lock);
		g_running->kicked = true;
		pthread_cond_signal(&g_running->cond);
		pthread_mutex_unlock(&g_running->lock);
	}
	pthread_mutex_unlock(&g_lock);
}

/* Exports left running by a process that died cannot resume: fail them. */
static void
recover(struct app *app)
{
	struct store_tenant *tenants = NULL;
	size_t nt = 0;

	if (store_tenant_list(app->store, &tenants, &nt) != KURA_OK) {
		log_warn("exports: cannot list tenants to recover exports");
		return;
	}
	for (size_t i = 0; i < nt; i++) {
		struct store_tctx ctx;
		struct store_export *list = NULL;
		size_t n = 0;

		snprintf(ctx.tenant_id, sizeof(ctx.tenant_id), "%s", tenants[i].id);
		if (store_export_list(app->store, &ctx, &list, &n) != KURA_OK)
			continue;
		for (size_t k = 0; k < n; k++) {
			if (strcmp(list[k].status, "running") != 0)
				continue;
			snprintf(list[k].status, sizeof(list[k].status), "failed");
			if (save(app, &list[k], "export.failed", "failure",
			    json_pack("{s:s}", "error", "interrupted")) == KURA_OK)
				log_warn("exports: %s was interrupted; marked failed",
				    list[k].id);
		}
		free(list);
	}
	store_tenant_list_free(tenants, nt);
}

/* Run e (queued) to its end state.  Fails only when e cannot even be
 * marked running (the database is unwell: the caller waits a round). */
static kura_err
run_one(struct exports *x, struct store_export *e)
{
	struct app *app = x->app;
	char blob[STORE_ID_MAX];
	uint64_t size = 0;
	int64_t t0 = kura_mono_us(), now;
	kura_err err;

	snprintf(e->status, sizeof(e->status), "running");
	if ((err = save(app, e, NULL, NULL, NULL))) {
		log_error("exports: cannot start %s: %s", e->id, kura_strerror(err));
		return err;
	}
	err = exports_build(app, e, &x->stop, t0 + (int64_t)EXPORTS_MAX_SECONDS *
	    1000000, blob, &size);
	if (err == KURA_EBUSY) {
		snprintf(e->status, sizeof(e->status), "queued");
		if (save(app, e, NULL, NULL, NULL) == KURA_OK)
			log_info("exports: %s interrupted by shutdown; queued again", e->id);
		return KURA_OK;
	}
	now = kura_now_us();
	if (err == KURA_OK) {
		snprintf(e->status, sizeof(e->status), "ready");
		snprintf(e->blob_id, sizeof(e->blob_id), "%s", blob);
		e->size = size;
		e->ready_us = now;
		e->expires_us = now + (int64_t)app->cfg->export_expire_hours * 3600 *
		    1000000;
		err = save(app, e, "export.ready", "success", json_pack("{s:I,s:I}",
		    "size", (json_int_t)size, "ms",
		    (json_int_t)((kura_mono_us() - t0) / 1000)));
		if (err == KURA_OK) {
			log_info("exports: %s ready (%llu bytes, %lld ms)", e->id,
			    (unsigned long long)size,
			    (long long)((kura_mono_us() - t0) / 1000));
			return KURA_OK;
		}
		(void)blob_delete(app->blob_root, e->tenant_id, blob);
		e->blob_id[0] = '\0';
		e->size = 0;
		e->ready_us = e->expires_us = 0;
	}
	log_error("exports: %s failed: %s", e->id, kura_strerror(err));
	snprintf(e->status, sizeof(e->status), "failed");
	if (save(app, e, "export.failed", "failure", json_pack("{s:s}", "error",
	    err == KURA_ERANGE ? "took too long" : kura_strerror(err))) != KURA_OK)
		log_error("exports: cannot mark %s failed", e->id);
	return KURA_OK;
}

/* Poll for queued exports (one at a time, oldest first) and expiries. */
static void *
exports_main(void *arg)
{
	struct exports *x = arg;
	struct app *app = x->app;

	recover(app);
	while (!atomic_load(&x->stop)) {
		struct store_export *list = NULL;
		struct timespec until;
		size_t n = 0;
		bool ran = false;
		kura_err err;

		if ((err = exports_expire(app, kura_now_us(), &n)))
			log_warn("exports: expiry round failed: %s", kura_strerror(err));
		else if (n > 0)
			log_info("exports: %zu expired export(s) removed", n);
		n = 0;
		if (store_export_queued(app->store, &list, &n) == KURA_OK && n > 0)
			ran = run_one(x, &list[0]) == KURA_OK;
		free(list);
		pthread_mutex_lock(&x->lock);
		if (!ran && !x->kicked && !atomic_load(&x->stop)) {
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_sec += EXPORTS_POLL_S;
			(void)pthread_cond_timedwait(&x->cond, &x->lock, &until);
		}
		x->kicked = false;
		pthread_mutex_unlock(&x->lock);
	}
	store_thread_done(app->store);
	return NULL;
}

kura_err
exports_start(struct app *app, struct exports **ret_x)
{
	struct exports *x = kura_calloc(1, sizeof(*x));

	if (x == NULL)
		return KURA_ENOMEM;
	x->app = app;
	atomic_init(&x->stop, false);
	pthread_mutex_init(&x->lock, NULL);
	pthread_cond_init(&x->cond, NULL);
	if (pthread_create(&x->thread, NULL, exports_main, x) != 0) {
		pthread_mutex_destroy(&x->lock);
		pthread_cond_destroy(&x->cond);
		free(x);
		return KURA_ENOMEM;
	}
	(void)pthread_setname_np(x->thread, "kura-exports");
	pthread_mutex_lock(&g_lock);
	g_running = x;
	pthread_mutex_unlock(&g_lock);
	*ret_x = x;
	return KURA_OK;
}

void
exports_stop(struct exports *x)
{
	if (x == NULL)
		return;
	pthread_mutex_lock(&g_lock);
	if (g_running == x)
		g_running = NULL;
	pthread_mutex_unlock(&g_lock);
	pthread_mutex_lock(&x->lock);
	atomic_store(&x->stop, true);
	pthread_cond_signal(&x->cond);
	pthread_mutex_unlock(&x->lock);
	pthread_join(x->thread, NULL);
	pthread_mutex_destroy(&x->lock);
	pthread_cond_destroy(&x->cond);
	free(x);
}
