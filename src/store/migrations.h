/* The compiled-in migration table (generated from migrations/NNNN_*.sql). */
#ifndef KURA_STORE_MIGRATIONS_H
#define KURA_STORE_MIGRATIONS_H

#include <stdbool.h>

struct store_migration {
	int version;
	const char *name;
	const char *sql;
	/* The file starts with "-- kura:schema-edit": it edits definitions
	 * in sqlite_schema in place and runs under sq_schema_edit's rules
	 * (src/store/sqlite.c) instead of as plain SQL. */
	bool schema_edit;
};

extern const struct store_migration store_migrations[];
extern const int store_migrations_count;

#endif
