/* The compiled-in migration table (generated from migrations/NNNN_*.sql). */
#ifndef KURA_STORE_MIGRATIONS_H
#define KURA_STORE_MIGRATIONS_H

struct store_migration {
	int version;
	const char *name;
	const char *sql;
};

extern const struct store_migration store_migrations[];
extern const int store_migrations_count;

#endif
