/* Verifiable JSON-lines export of the audit trail (LOG-2, LOG-5). */
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "core/log.h"

static kura_err
emit(audit_write_fn write_fn, void *arg, json_t *o)
{
	char *line;
	kura_err err;

	if (o == NULL)
		return KURA_ENOMEM;
	line = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
	json_decref(o);
	if (line == NULL)
		return KURA_ENOMEM;
	{
		size_t n = strlen(line);
		char *with_nl = realloc(line, n + 2);
		if (with_nl == NULL) {
			free(line);
			return KURA_ENOMEM;
		}
		line = with_nl;
		line[n] = '\n';
		line[n + 1] = '\0';
		err = write_fn(arg, line, n + 1);
	}
	free(line);
	return err;
}

struct export_ctx {
	audit_write_fn write_fn;
	void *arg;
};

static kura_err
export_row(void *arg, const struct store_audit *row)
{
	struct export_ctx *x = arg;

	return emit(x->write_fn, x->arg, audit_row_to_json(row));
}

kura_err
audit_export(struct store *s, const char *tenant_id, const char *public_key_b64,
    audit_write_fn write_fn, void *arg)
{
	struct export_ctx x = { write_fn, arg };
	struct store_audit_mark *marks = NULL;
	struct store_audit_mark anchor;
	int64_t after = 0;
	size_t n = 0;
	kura_err err;

	err = emit(write_fn, arg, json_pack("{s:s,s:i,s:s,s:s,s:I}", "type", "export",
	    "version", 1, "scope", tenant_id ? tenant_id : "global",
	    "public_key", public_key_b64, "created_us", (json_int_t)kura_now_us()));
	for (int kind = 0; err == KURA_OK && kind < 2; kind++) {
		err = store_audit_marks(s, kind ? "checkpoint" : "anchor", tenant_id,
		    &marks, &n);
		for (size_t i = 0; err == KURA_OK && i < n; i++)
			err = emit(write_fn, arg, audit_mark_to_json(&marks[i]));
		free(marks);
		marks = NULL;
	}
	/* records start after the scope's newest anchor */
	if (err == KURA_OK) {
		kura_err e = store_audit_last_mark(s, "anchor", tenant_id ? tenant_id :
		    "global", &anchor);
		if (e == KURA_OK)
			after = anchor.seq;
		else if (e != KURA_ENOENT)
			err = e;
	}
	if (err == KURA_OK)
		err = store_audit_scan(s, tenant_id, after, export_row, &x);
	return err;
}
