#include <stdlib.h>
#include <string.h>

#include "auth/rbac.h"
#include "core/buf.h"
#include "core/mem.h"

#define B(n) ((rbac_perms)1 << (n))

const struct rbac_perm_info rbac_catalogue[] = {
	{ "users.read", B(0), 1, "See users and their roles", "ユーザーとロールの閲覧" },
	{ "users.write", B(1), 1, "Invite, change, disable, delete, unlock users; revoke their sessions", "ユーザーの招待・変更・無効化・削除・ロック解除・セッション失効" },
	{ "roles.read", B(2), 1, "See roles and the permission catalogue", "ロールと権限一覧の閲覧" },
	{ "roles.write", B(3), 1, "Create, change and delete custom roles", "カスタムロールの作成・変更・削除" },
	{ "settings.read", B(4), 1, "See security settings", "セキュリティ設定の閲覧" },
	{ "settings.write", B(5), 1, "Change security settings (passwords, lockout, sessions, MFA, IP allowlists)", "セキュリティ設定の変更" },
	{ "audit.read", B(6), 1, "Read, export and verify the tenant's audit log and alerts", "監査ログとアラートの閲覧・出力・検証" },
	{ "access_review.read", B(7), 1, "Access review of every user's permissions", "権限の棚卸し" },
	{ "tokens.write", B(8), 0, "Create and revoke own API tokens", "自分のAPIトークンの作成・失効" },
	{ "projects.all", B(9), 1, "See and manage every project", "全プロジェクトの閲覧・管理" },
	{ "files.read", B(10), 0, "Read projects, files and tasks one belongs to", "所属プロジェクトのファイル・タスクの閲覧" },
	{ "files.write", B(11), 0, "Create and change projects, files and tasks", "プロジェクト・ファイル・タスクの作成と変更" },
	{ "exports.write", B(12), 1, "Export all of the tenant's data", "テナントデータのエクスポート" },
	{ "ai.chat", B(13), 0, "LLM chat and model comparison", "LLMチャットとモデル比較" },
	{ "ai.workflows", B(14), 0, "AI workflows", "AIワークフロー" },
	{ "ai.analysis", B(15), 0, "ML analysis", "機械学習分析" },
	{ "ai.speech", B(16), 0, "Speech synthesis", "音声合成" },
};

const size_t rbac_catalogue_len = sizeof(rbac_catalogue) / sizeof(rbac_catalogue[0]);

rbac_perms
rbac_perm_bit(const char *name)
{
	for (size_t i = 0; i < rbac_catalogue_len; i++)
		if (strcmp(rbac_catalogue[i].name, name) == 0)
			return rbac_catalogue[i].bit;
	return 0;
}

rbac_perms
rbac_all(void)
{
	rbac_perms all = 0;
	for (size_t i = 0; i < rbac_catalogue_len; i++)
		all |= rbac_catalogue[i].bit;
	return all;
}

bool
rbac_builtin(const char *role, rbac_perms *ret_perms)
{
	if (strcmp(role, RBAC_ROLE_ADMIN) == 0) {
		*ret_perms = rbac_all();
		return true;
	}
	if (strcmp(role, RBAC_ROLE_MEMBER) == 0) {
		*ret_perms = rbac_perm_bit("tokens.write") |
		    rbac_perm_bit("files.read") | rbac_perm_bit("files.write") |
		    rbac_perm_bit("ai.chat") | rbac_perm_bit("ai.workflows") |
		    rbac_perm_bit("ai.analysis") | rbac_perm_bit("ai.speech");
		return true;
	}
	return false;
}

kura_err
rbac_parse(const char *csv, rbac_perms *ret_perms)
{
	rbac_perms p = 0;
	const char *s = csv;

	while (s != NULL && *s != '\0') {
		const char *comma = strchr(s, ',');
		size_t len = comma ? (size_t)(comma - s) : strlen(s);
		rbac_perms bit = 0;
		for (size_t i = 0; i < rbac_catalogue_len; i++)
			if (strlen(rbac_catalogue[i].name) == len &&
			    memcmp(rbac_catalogue[i].name, s, len) == 0)
				bit = rbac_catalogue[i].bit;
		if (bit == 0)
			return KURA_EINVAL;
		p |= bit;
		if (comma != NULL && comma[1] == '\0')
			return KURA_EINVAL;   /* "a," has an empty element */
		s = comma ? comma + 1 : NULL;
	}
	*ret_perms = p;
	return KURA_OK;
}

char *
rbac_format(rbac_perms perms)
{
	struct kbuf b;

	kbuf_init(&b, 4096);
	for (size_t i = 0; i < rbac_catalogue_len; i++) {
		if (!(perms & rbac_catalogue[i].bit))
			continue;
		if ((b.len > 0 && kbuf_puts(&b, ",") != KURA_OK) ||
		    kbuf_puts(&b, rbac_catalogue[i].name) != KURA_OK) {
			kbuf_free(&b);
			return NULL;
		}
	}
	return kbuf_steal(&b, NULL);
}

bool
rbac_allows(rbac_perms perms, const char *route_perm)
{
	rbac_perms bit;

	if (strcmp(route_perm, "self") == 0 || strcmp(route_perm, "public") == 0)
		return true;
	bit = rbac_perm_bit(route_perm);
	return bit != 0 && (perms & bit) == bit;
}

bool
rbac_route_perm_known(const char *name)
{
	return strcmp(name, "self") == 0 || strcmp(name, "public") == 0 ||
	    rbac_perm_bit(name) != 0;
}
