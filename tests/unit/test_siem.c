/*
 * Unit tests for src/siem (LOG-7): RFC 5424 formatting (PRI, timestamp,
 * structured-data escaping, MSGID), RFC 6587 octet-counting frames, the
 * bounded drop-oldest queue and its counter, the JSON-lines file sink and
 * plain TCP delivery to a listener on loopback.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "core/buf.h"
#include "core/log.h"
#include "siem/siem.h"

/* 2026-11-21T09:00:00.123456Z */
#define T0 ((int64_t)1795251600 * 1000000 + 123456)

static void
make_row(struct store_audit *r, int64_t seq, const char *action,
    const char *outcome)
{
	memset(r, 0, sizeof(*r));
	r->seq = seq;
	snprintf(r->id, sizeof(r->id), "evt_%032lld", (long long)seq);
	snprintf(r->tenant_id, sizeof(r->tenant_id), "ten_0123456789abcdef0123456789abcdef");
	r->tenant_seq = seq;
	r->time_us = T0;
	snprintf(r->actor_type, sizeof(r->actor_type), "user");
	snprintf(r->actor_id, sizeof(r->actor_id), "usr_00000000000000000000000000000001");
	snprintf(r->source_ip, sizeof(r->source_ip), "192.0.2.7");
	snprintf(r->request_id, sizeof(r->request_id), "0123456789abcdef0123456789abcdef");
	snprintf(r->action, sizeof(r->action), "%s", action);
	snprintf(r->resource_type, sizeof(r->resource_type), "user");
	snprintf(r->resource_id, sizeof(r->resource_id), "usr_1");
	snprintf(r->outcome, sizeof(r->outcome), "%s", outcome);
	r->status = 200;
	r->detail = NULL;
	snprintf(r->hash, sizeof(r->hash), "%064d", 0);
}

/* Split a frame "LEN SP MSG" at the start of p; returns MSG and its
 * declared length; fails the test if the frame is malformed. */
static const char *
unframe(const char *p, size_t avail, size_t *ret_len)
{
	size_t len = 0, i = 0;

	while (i < avail && p[i] >= '0' && p[i] <= '9') {
		len = len * 10 + (size_t)(p[i] - '0');
		i++;
	}
	assert_true(i > 0 && p[0] != '0');
	assert_true(i < avail && p[i] == ' ');
	assert_true(avail - i - 1 >= len);
	*ret_len = len;
	return p + i + 1;
}

/* ---- formatting ---- */

static void
timestamp_is_utc_rfc3339_with_microseconds(void **state)
{
	char ts[32];

	(void)state;
	assert_int_equal(siem_timestamp(T0, ts), KURA_OK);
	assert_string_equal(ts, "2026-11-21T09:00:00.123456Z");
	assert_int_equal(siem_timestamp(0, ts), KURA_OK);
	assert_string_equal(ts, "1970-01-01T00:00:00.000000Z");
	assert_int_equal(siem_timestamp(1, ts), KURA_OK);
	assert_string_equal(ts, "1970-01-01T00:00:00.000001Z");
	assert_int_equal(siem_timestamp(-1, ts), KURA_OK);
	assert_string_equal(ts, "1969-12-31T23:59:59.999999Z");
}

static void
msgid_is_sanitised_printable_ascii(void **state)
{
	char id[SIEM_MSGID_MAX + 1];

	(void)state;
	siem_msgid("user.invite", id);
	assert_string_equal(id, "user.invite");
	siem_msgid("a b\tc\x01" "d\xc3\xa9", id);
	assert_string_equal(id, "a_b_c_d__");
	siem_msgid("", id);
	assert_string_equal(id, "-");
	siem_msgid(NULL, id);
	assert_string_equal(id, "-");
	siem_msgid("0123456789012345678901234567890123456789", id);
	assert_int_equal(strlen(id), SIEM_MSGID_MAX);
	assert_string_equal(id, "01234567890123456789012345678901");
}

static void
hostname_is_sanitised(void **state)
{
	char h[SIEM_HOSTNAME_MAX + 1];
	char longname[400];

	(void)state;
	siem_hostname("db 1", h);
	assert_string_equal(h, "db_1");
	siem_hostname("", h);
	assert_string_equal(h, "-");
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	siem_hostname(longname, h);
	assert_int_equal(strlen(h), SIEM_HOSTNAME_MAX);
	siem_hostname(NULL, h);     /* this machine: never empty, no spaces */
	assert_true(strlen(h) > 0 && strchr(h, ' ') == NULL);
}

static void
sd_escape_quotes_backslash_bracket(void **state)
{
	struct kbuf b;

	(void)state;
	kbuf_init(&b, 1024);
	assert_int_equal(siem_sd_escape(&b, "a\"b\\c]d[e="), KURA_OK);
	assert_string_equal(b.data, "a\\\"b\\\\c\\]d[e=");
	kbuf_reset(&b);
	/* valid UTF-8 passes unchanged */
	assert_int_equal(siem_sd_escape(&b, "\xe3\x83\x95\xe3\x82\xa1"), KURA_OK);
	assert_string_equal(b.data, "\xe3\x83\x95\xe3\x82\xa1");
	kbuf_reset(&b);
	/* control characters and invalid UTF-8 become '?' */
	assert_int_equal(siem_sd_escape(&b, "x\ny\xff]"), KURA_OK);
	assert_string_equal(b.data, "x?y?\\]");
	kbuf_free(&b);
}

static void
syslog_message_pri_header_sd_and_json(void **state)
{
	struct store_audit r;
	struct kbuf b;
	const char *msg;
	size_t len;
	json_t *j;
	const char *json_start;

	(void)state;
	make_row(&r, 42, "user.invite", "success");
	r.detail = (char *)"{\"roles\":[\"admin\"]}";
	kbuf_init(&b, 65536);
	assert_int_equal(siem_format_syslog(&r, "kura-host", &b), KURA_OK);
	msg = unframe(b.data, b.len, &len);
	assert_int_equal(len, b.len - (size_t)(msg - b.data));
	/* facility 13 (log audit) * 8 + notice 5 = 109 */
	assert_true(strncmp(msg, "<109>1 2026-11-21T09:00:00.123456Z kura-host kura - "
	    "user.invite [kura@32473 seq=\"42\" id=\"evt_", 93) == 0);
	assert_non_null(strstr(msg, " tenant=\"ten_0123456789abcdef0123456789abcdef\""
	    " actor_type=\"user\" actor=\"usr_00000000000000000000000000000001\""
	    " src=\"192.0.2.7\" req=\"0123456789abcdef0123456789abcdef\""
	    " resource_type=\"user\" resource=\"usr_1\" outcome=\"success\""
	    " status=\"200\"] {"));
	json_start = strstr(msg, "] {") + 2;
	j = json_loadb(json_start, len - (size_t)(json_start - msg), 0, NULL);
	assert_non_null(j);
	assert_int_equal(json_integer_value(json_object_get(j, "seq")), 42);
	assert_string_equal(json_string_value(json_object_get(j, "action")),
	    "user.invite");
	assert_string_equal(json_string_value(json_array_get(json_object_get(
	    json_object_get(j, "detail"), "roles"), 0)), "admin");
	json_decref(j);

	/* failure and denied: warning 4 -> 108 */
	kbuf_reset(&b);
	make_row(&r, 43, "auth.login", "failure");
	r.status = 401;
	assert_int_equal(siem_format_syslog(&r, "-", &b), KURA_OK);
	msg = unframe(b.data, b.len, &len);
	assert_true(strncmp(msg, "<108>1 2026-11-21T09:00:00.123456Z - kura - auth.login [",
	    56) == 0);
	assert_non_null(strstr(msg, " status=\"401\"]"));
	kbuf_reset(&b);
	make_row(&r, 44, "user.delete", "denied");
	assert_int_equal(siem_format_syslog(&r, "h", &b), KURA_OK);
	msg = unframe(b.data, b.len, &len);
	assert_true(strncmp(msg, "<108>1 ", 7) == 0);
	kbuf_free(&b);
}

static void
syslog_frame_length_counts_octets_and_escapes(void **state)
{
	struct store_audit r;
	struct kbuf b;
	const char *msg;
	size_t len;

	(void)state;
	make_row(&r, 7, "file.get", "success");
	/* multi-byte UTF-8 in a value: LEN is bytes, not characters */
	snprintf(r.resource_id, sizeof(r.resource_id), "\xe3\x83\x95\"q\\]");
	kbuf_init(&b, 65536);
	assert_int_equal(siem_format_syslog(&r, "h", &b), KURA_OK);
	/* two frames back to back still split exactly */
	make_row(&r, 8, "file.put", "success");
	assert_int_equal(siem_format_syslog(&r, "h", &b), KURA_OK);
	msg = unframe(b.data, b.len, &len);
	assert_non_null(strstr(msg, " resource=\"\xe3\x83\x95\\\"q\\\\\\]\""));
	assert_true(strncmp(msg + len, " ", 1) != 0);
	{
		const char *second = msg + len;
		size_t len2;
		const char *msg2 = unframe(second, b.len - (size_t)(second - b.data),
		    &len2);
		assert_int_equal((size_t)(msg2 - b.data) + len2, b.len);
		assert_non_null(strstr(msg2, "file.put [kura@32473 seq=\"8\""));
	}
	kbuf_free(&b);
}

static void
jsonl_line_is_compact_json(void **state)
{
	struct store_audit r;
	struct kbuf b;
	json_t *j;

	(void)state;
	make_row(&r, 5, "role.grant", "success");
	kbuf_init(&b, 65536);
	assert_int_equal(siem_format_jsonl(&r, &b), KURA_OK);
	assert_true(b.len > 2 && b.data[b.len - 1] == '\n');
	assert_null(memchr(b.data, '\n', b.len - 1));
	j = json_loadb(b.data, b.len, 0, NULL);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "type")), "record");
	assert_int_equal(json_integer_value(json_object_get(j, "seq")), 5);
	json_decref(j);
	kbuf_free(&b);
}

/* ---- queue and file sink ---- */

static char *
tmpdir(void)
{
	char tmpl[] = "/tmp/kura-siem-XXXXXX";
	char *d = mkdtemp(tmpl);

	assert_non_null(d);
	return strdup(d);
}

static char *
read_all(const char *path)
{
	FILE *f = fopen(path, "r");
	char *data = calloc(1, 1 << 20);
	size_t n;

	assert_non_null(f);
	assert_non_null(data);
	n = fread(data, 1, (1 << 20) - 1, f);
	data[n] = '\0';
	fclose(f);
	return data;
}

static void
queue_is_bounded_and_drops_oldest(void **state)
{
	struct siem_opts o = { .mode = SIEM_FILE, .queue_max = 4 };
	struct siem_stats st;
	struct store_audit r;
	struct siem *s = NULL;
	char *dir = tmpdir(), *msg = NULL, *data, path[600], sub[512];
	struct stat sb;
	int64_t seq = 0;

	(void)state;
	/* the file's directory is created 0700 */
	snprintf(sub, sizeof(sub), "%s/siem", dir);
	snprintf(path, sizeof(path), "%s/audit.jsonl", sub);
	o.file = path;
	assert_int_equal(siem_new(&o, &s, &msg), KURA_OK);
	assert_int_equal(stat(sub, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0700);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 07777, 0600);
	for (seq = 1; seq <= 10; seq++) {
		make_row(&r, seq, "user.get", "success");
		siem_enqueue(s, &r);
	}
	siem_stats(s, &st);
	assert_int_equal(st.depth, 4);
	assert_int_equal(st.enqueued, 10);
	assert_int_equal(st.dropped, 6);
	assert_int_equal(st.delivered, 0);
	/* deliver what is left: the newest four, in order */
	assert_int_equal(siem_run(s), KURA_OK);
	siem_free(s, 5 * 1000000);
	data = read_all(path);
	{
		char *line = data, *nl;
		int64_t want = 7;
		while ((nl = strchr(line, '\n')) != NULL) {
			json_t *j = json_loadb(line, (size_t)(nl - line), 0, NULL);
			assert_non_null(j);
			assert_int_equal(json_integer_value(json_object_get(j, "seq")), want);
			json_decref(j);
			want++;
			line = nl + 1;
		}
		assert_int_equal(want, 11);
		assert_int_equal(*line, '\0');
	}
	free(data);
	unlink(path);
	rmdir(sub);
	rmdir(dir);
	free(dir);
}

static void
file_sink_refuses_group_readable_file_and_symlink(void **state)
{
	struct siem_opts o = { .mode = SIEM_FILE };
	struct siem *s = NULL;
	char *dir = tmpdir(), *msg = NULL, path[512], link[512];
	int fd;

	(void)state;
	snprintf(path, sizeof(path), "%s/open.jsonl", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(fchmod(fd, 0644), 0);
	close(fd);
	o.file = path;
	assert_int_equal(siem_new(&o, &s, &msg), KURA_EPERM);
	assert_null(s);
	assert_non_null(msg);
	assert_non_null(strstr(msg, "0644"));
	free(msg);
	msg = NULL;
	chmod(path, 0600);
	snprintf(link, sizeof(link), "%s/link.jsonl", dir);
	assert_int_equal(symlink(path, link), 0);
	o.file = link;
	assert_int_not_equal(siem_new(&o, &s, &msg), KURA_OK);
	assert_null(s);
	free(msg);
	msg = NULL;
	o.file = "relative.jsonl";
	assert_int_equal(siem_new(&o, &s, &msg), KURA_EINVAL);
	free(msg);
	unlink(link);
	unlink(path);
	rmdir(dir);
	free(dir);
}

/* ---- syslog over plain TCP ---- */

static void
syslog_address_must_be_numeric(void **state)
{
	struct siem_opts o = { .mode = SIEM_SYSLOG };
	struct siem *s = NULL;
	char *msg = NULL;

	(void)state;
	o.address = "localhost:514";
	assert_int_equal(siem_new(&o, &s, &msg), KURA_EINVAL);
	assert_null(s);
	free(msg);
	msg = NULL;
	o.address = "127.0.0.1";
	assert_int_not_equal(siem_new(&o, &s, &msg), KURA_OK);
	free(msg);
	msg = NULL;
	o.address = "[::1]:6514";
	assert_int_equal(siem_new(&o, &s, &msg), KURA_OK);
	siem_free(s, 0);
	s = NULL;
	o.address = "127.0.0.1:6514";
	o.tls = true;
	o.ca_file = "/nonexistent/ca.pem";
	assert_int_equal(siem_new(&o, &s, &msg), KURA_EINVAL);
	assert_null(s);
	free(msg);
}

static void
syslog_tcp_delivers_frames_in_order(void **state)
{
	struct siem_opts o = { .mode = SIEM_SYSLOG, .hostname = "unit" };
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t salen = sizeof(sa);
	struct siem_stats st;
	struct store_audit r;
	struct siem *s = NULL;
	char addr[64], *msg = NULL, buf[65536];
	size_t have = 0;
	int ls, c;

	(void)state;
	kura_log_set_level(KURA_LOG_ERROR);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ls = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(ls >= 0);
	assert_int_equal(bind(ls, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(ls, 4), 0);
	assert_int_equal(getsockname(ls, (struct sockaddr *)&sa, &salen), 0);
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", (unsigned)ntohs(sa.sin_port));
	o.address = addr;
	assert_int_equal(siem_new(&o, &s, &msg), KURA_OK);
	assert_int_equal(siem_run(s), KURA_OK);
	for (int64_t seq = 1; seq <= 3; seq++) {
		make_row(&r, seq, "user.get", seq == 2 ? "denied" : "success");
		siem_enqueue(s, &r);
	}
	c = accept(ls, NULL, NULL);
	assert_true(c >= 0);
	for (int i = 0; i < 200; i++) {
		struct pollfd p = { .fd = c, .events = POLLIN };
		ssize_t n;
		if (poll(&p, 1, 50) <= 0)
			continue;
		n = recv(c, buf + have, sizeof(buf) - 1 - have, 0);
		if (n <= 0)
			break;
		have += (size_t)n;
		siem_stats(s, &st);
		if (st.delivered == 3 && have >= 3 * 100)
			break;
	}
	buf[have] = '\0';
	{
		const char *p = buf;
		for (int64_t seq = 1; seq <= 3; seq++) {
			size_t len;
			char want[64];
			const char *m = unframe(p, have - (size_t)(p - buf), &len);
			snprintf(want, sizeof(want), "<%d>1 ", seq == 2 ? 108 : 109);
			assert_true(strncmp(m, want, strlen(want)) == 0);
			snprintf(want, sizeof(want), "seq=\"%lld\"", (long long)seq);
			assert_non_null(strstr(m, want));
			p = m + len;
		}
		assert_int_equal((size_t)(p - buf), have);
	}
	siem_stats(s, &st);
	assert_int_equal(st.delivered, 3);
	assert_int_equal(st.dropped, 0);
	assert_true(st.connected);
	siem_free(s, 1000000);
	close(c);
	close(ls);
}

static void
drain_gives_up_on_unreachable_receiver(void **state)
{
	struct siem_opts o = { .mode = SIEM_SYSLOG, .hostname = "unit" };
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t salen = sizeof(sa);
	struct siem_stats st;
	struct store_audit r;
	struct siem *s = NULL;
	char addr[64], *msg = NULL;
	int64_t t0;
	int ls;

	(void)state;
	kura_log_set_level(KURA_LOG_ERROR);
	/* a port that refuses: bound, never listening */
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ls = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(ls >= 0);
	assert_int_equal(bind(ls, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(ls, (struct sockaddr *)&sa, &salen), 0);
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", (unsigned)ntohs(sa.sin_port));
	o.address = addr;
	assert_int_equal(siem_new(&o, &s, &msg), KURA_OK);
	assert_int_equal(siem_run(s), KURA_OK);
	make_row(&r, 1, "user.get", "success");
	siem_enqueue(s, &r);
	/* records are kept while the receiver is down */
	usleep(200 * 1000);
	siem_stats(s, &st);
	assert_int_equal(st.delivered, 0);
	assert_int_equal(st.dropped, 0);
	assert_false(st.connected);
	t0 = kura_mono_us();
	siem_free(s, 5 * 1000000);
	assert_true(kura_mono_us() - t0 < 2 * 1000000);
	close(ls);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(timestamp_is_utc_rfc3339_with_microseconds),
		cmocka_unit_test(msgid_is_sanitised_printable_ascii),
		cmocka_unit_test(hostname_is_sanitised),
		cmocka_unit_test(sd_escape_quotes_backslash_bracket),
		cmocka_unit_test(syslog_message_pri_header_sd_and_json),
		cmocka_unit_test(syslog_frame_length_counts_octets_and_escapes),
		cmocka_unit_test(jsonl_line_is_compact_json),
		cmocka_unit_test(queue_is_bounded_and_drops_oldest),
		cmocka_unit_test(file_sink_refuses_group_readable_file_and_symlink),
		cmocka_unit_test(syslog_address_must_be_numeric),
		cmocka_unit_test(syslog_tcp_delivers_frames_in_order),
		cmocka_unit_test(drain_gives_up_on_unreachable_receiver),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
