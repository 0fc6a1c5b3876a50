// Audit log (filters, paging, exports, verification with the checkpoint
// key) and alerts (with acknowledge).
import { h, clear, fill, field, input, select, button, say, table, fmtTime, errorText, shortId } from './dom.js';
import { t } from './i18n.js';
import { api, download } from './api.js';

// The catalogue's name of an audit action, with its code for searching.
export function actionLabel(action) {
	const name = t(`action.${action}`, null, true);
	return h('span', { class: 'action' }, name || action,
		name ? h('span', { class: 'small mono' }, ` ${action}`) : null);
}

export function outcomeBadge(outcome) {
	const cls = outcome === 'success' ? 'ok' : outcome === 'denied' ? 'danger' : 'warn';
	return h('span', { class: `badge ${cls}` }, t(`audit.outcome_${outcome}`));
}

// Offset (ms) of zone at instant ms: what the zone's wall clock reads
// minus UTC.
function zoneOffset(ms, zone) {
	const p = {};
	for (const x of new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23',
		year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit',
		second: '2-digit' }).formatToParts(new Date(ms))) p[x.type] = x.value;
	return Date.UTC(+p.year, p.month - 1, +p.day, +p.hour, +p.minute, +p.second) - Math.floor(ms / 1000) * 1000;
}

// '2026-11-21T09:00' read as a wall-clock time of the tenant's zone ->
// RFC 3339 UTC, as the API's from/to take it.
function zonedToUtc(local, zone) {
	const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/.exec(local);
	if (!m) return null;
	const wall = Date.UTC(+m[1], m[2] - 1, +m[3], +m[4], +m[5]);
	let utc = wall - zoneOffset(wall, zone);
	utc = wall - zoneOffset(utc, zone);
	return new Date(utc).toISOString();
}

// load() of a table in box, marked for the tests: box's data-state is
// loading while a load runs, ready once every load has drawn (or failed).
function marked(box, load) {
	let running = 0;
	return async (...args) => {
		running += 1;
		box.dataset.state = 'loading';
		try {
			return await load(...args);
		} finally {
			running -= 1;
			if (!running) box.dataset.state = 'ready';
		}
	};
}

const ACTION_GROUPS = ['*', 'auth.*', 'me.*', 'user.*', 'role.*', 'settings.*', 'token.*',
	'audit.*', 'alert.*', 'project.*', 'directory.*', 'file.*', 'task.*', 'export.*', 'tenant.*'];
const OUTCOMES = ['', 'success', 'denied', 'failure'];

function verifyPanel() {
	const box = h('div', { 'data-testid': 'verify-result' });
	const run = async () => {
		fill(box, h('p', { class: 'small' }, t('audit.verifying')));
		try {
			const v = await api('GET', '/api/v1/audit-events/verify');
			const cp = v.last_checkpoint;
			fill(box, 
				h('p', {}, h('span', { class: `badge ${v.ok ? 'ok' : 'danger'}`, 'data-testid': 'verify-state' },
					v.ok ? t('audit.verified_ok') : t('audit.verified_bad')), ' ',
				t('audit.verify_counts', { records: v.records, checkpoints: v.checkpoints })),
				v.ok ? null : h('p', { class: 'notice notice-error', role: 'alert' }, t('audit.verify_bad_help'),
					v.first_bad ? ` (seq ${v.first_bad.seq}, ${v.first_bad.id})` : ''),
				h('dl', { class: 'facts' },
					h('dt', {}, t('audit.public_key')), h('dd', {}, h('code', { class: 'secret' }, v.public_key)),
					h('dt', {}, t('audit.key_id')), h('dd', {}, h('code', {}, v.key_id)),
					h('dt', {}, t('audit.last_checkpoint')),
					h('dd', {}, cp ? t('audit.checkpoint_at', { seq: cp.seq, time: fmtTime(cp.time) }) : t('audit.no_checkpoint'))),
				h('p', { class: 'small' }, t('audit.key_help')));
		} catch (err) {
			say(box, 'error', errorText(err));
		}
	};
	run();
	return h('section', { class: 'panel', 'aria-labelledby': 'h-verify' },
		h('div', { class: 'page-head' }, h('h2', { id: 'h-verify' }, t('audit.verification')),
			button(t('audit.verify_now'), run, 'small', { 'data-testid': 'verify-now' })), box);
}

async function renderAudit(ctx) {
	const { main, me } = ctx;
	const zone = me.tenant.timezone;
	const f = {
		from: input({ type: 'datetime-local', 'data-testid': 'f-from' }),
		to: input({ type: 'datetime-local', 'data-testid': 'f-to' }),
		action: select(ACTION_GROUPS.map(a => [a, a === '*' ? t('common.all') :
			`${t(`audit.group_${a.slice(0, -2)}`)} (${a})`]),
			ctx.query.get('action') || '*', { 'data-testid': 'f-action' }),
		outcome: select(OUTCOMES.map(o => [o, o ? t(`audit.outcome_${o}`) : t('common.all')]), '', { 'data-testid': 'f-outcome' }),
		actor: input({ placeholder: 'usr_…', 'data-testid': 'f-actor', value: ctx.query.get('actor') || '' }),
		ip: input({ placeholder: '203.0.113.7', 'data-testid': 'f-ip', value: ctx.query.get('source_ip') || '' }),
	};
	// set by a link (an alert's "see in the log"): shown, and removable
	let resourceId = ctx.query.get('resource_id') || '';
	const msg = h('div', { class: 'msg' });
	const box = h('div', { class: 'audit-table', 'data-testid': 'audit-table' });
	const more = h('div', { class: 'actions' });
	const exports = h('div', { class: 'actions' });
	const query = () => {
		const q = {};
		if (f.from.value) q.from = zonedToUtc(f.from.value, zone);
		if (f.to.value) q.to = zonedToUtc(f.to.value, zone);
		if (f.action.value !== '*') q.action = f.action.value;
		if (f.outcome.value) q.outcome = f.outcome.value;
		if (f.actor.value.trim()) q.actor = f.actor.value.trim();
		if (f.ip.value.trim()) q.source_ip = f.ip.value.trim();
		if (resourceId) q.resource_id = resourceId;
		return q;
	};
	const exportButton = (path, name, label, testid) => button(label, async () => {
		say(msg, null, null);
		try { await download(path, name); } catch (err) { say(msg, 'error', errorText(err)); }
	}, 'small', { 'data-testid': testid });
	const exportLink = (fmt, label) => {
		const q = new URLSearchParams(Object.assign(query(), { format: fmt }));
		return exportButton(`/api/v1/audit-events?${q}`, `audit-events.${fmt}`, label, `export-${fmt}`);
	};
	let rows = [];
	let seq = 0;
	const load = marked(box, async cursor => {
		say(msg, null, null);
		const mine = ++seq;
		if (!cursor) clear(more);       /* no "Load more" of the old list */
		const r = await api('GET', '/api/v1/audit-events', null, Object.assign(query(), { limit: 50, cursor }));
		if (mine !== seq) return;       /* a newer load is on its way */
		rows = cursor ? rows.concat(r.items) : r.items;
		fill(box, table([
			{ label: t('audit.time'), cell: e => fmtTime(e.time), class: 'nowrap' },
			{ label: t('audit.actor'), cell: e => h('span', {}, t(`audit.actor_${e.actor.type}`),
				e.actor.id ? h('div', {}, shortId(e.actor.id)) : null) },
			{ label: t('audit.action'), cell: e => actionLabel(e.action) },
			{ label: t('audit.resource'), cell: e => e.resource && e.resource.id ? shortId(e.resource.id) : '' },
			{ label: t('audit.outcome'), cell: e => h('span', {}, outcomeBadge(e.outcome), ' ',
				h('span', { class: 'small' }, String(e.status))) },
			{ label: t('audit.address'), cell: e => h('span', { class: 'mono small' }, e.source_ip || '') },
			{ label: t('audit.detail'), cell: e => h('details', {}, h('summary', {}, t('audit.show')),
				h('pre', { class: 'detail' }, JSON.stringify(Object.assign({ request_id: e.request_id, seq: e.seq }, e.detail), null, 1))) },
		], rows, t('audit.none')));
		clear(more);
		if (r.next_cursor) more.append(button(t('common.more'), () => load(r.next_cursor).catch(err => say(msg, 'error', errorText(err))), '', { 'data-testid': 'audit-more' }));
		fill(exports, h('span', { class: 'small' }, t('audit.export_label')),
			exportLink('csv', 'CSV'), exportLink('jsonl', 'JSON Lines'),
			exportButton('/api/v1/audit-events/export', 'audit-export.jsonl', t('audit.export_verifiable'),
				'export-verifiable'));
	});
	const form = h('form', { class: 'toolbar filters', novalidate: true },
		field(t('audit.from'), f.from), field(t('audit.to'), f.to), field(t('audit.action'), f.action),
		field(t('audit.outcome'), f.outcome), field(t('audit.actor_id'), f.actor), field(t('audit.address'), f.ip),
		h('button', { type: 'submit', class: 'primary', 'data-testid': 'audit-apply' }, t('common.filter')));
	form.addEventListener('submit', e => { e.preventDefault(); load().catch(err => say(msg, 'error', errorText(err))); });
	const linked = resourceId ? h('p', { class: 'small' }, t('audit.about_resource'), ' ', shortId(resourceId), ' ',
		button(t('audit.clear_resource'), e => { resourceId = ''; e.target.parentNode.remove(); load().catch(err => say(msg, 'error', errorText(err))); },
			'link small')) : null;
	main.append(h('div', { class: 'page-head' }, h('h1', {}, t('nav.audit'))),
		verifyPanel(),
		h('section', { class: 'panel', 'aria-labelledby': 'h-events' },
			h('h2', { id: 'h-events' }, t('audit.events')),
			h('p', { class: 'small' }, t('audit.zone_note', { zone })),
			form, linked, msg, exports, box, more));
	await load();
}

// The audit records behind an alert: sign-in alerts name the account as
// the records' resource (failed attempts are anonymous); the address rule
// names the address.
function alertLogLink(a) {
	const q = new URLSearchParams();
	if (a.rule === 'failed_login_address' && a.source_ip) {
		q.set('action', 'auth.*');
		q.set('source_ip', a.source_ip);
	} else if (/^(failed_login_account|account_locked|new_network)$/.test(a.rule) && a.actor_id) {
		q.set('action', 'auth.*');
		q.set('resource_id', a.actor_id);
	} else if (a.actor_id) {
		q.set('actor', a.actor_id);
	}
	return `#/audit?${q}`;
}

async function renderAlerts(ctx) {
	const { main } = ctx;
	const state = select([['false', t('alerts.open')], ['true', t('alerts.acked')], ['', t('common.all')]],
		'false', { 'data-testid': 'alerts-state' });
	const msg = h('div', { class: 'msg' });
	const box = h('div', { 'data-testid': 'alerts-table' });
	const more = h('div', { class: 'actions' });
	let rows = [];
	let seq = 0;
	const load = marked(box, async cursor => {
		const mine = ++seq;
		if (!cursor) clear(more);       /* no "Load more" of the old list */
		const r = await api('GET', '/api/v1/alerts', null, { acked: state.value, limit: 50, cursor });
		if (mine !== seq) return;       /* a newer load is on its way */
		rows = cursor ? rows.concat(r.items) : r.items;
		fill(box, table([
			{ label: t('alerts.severity'), cell: a => h('span', { class: `badge ${a.severity === 'critical' ? 'danger' : a.severity === 'warning' ? 'warn' : ''}` },
				t(`alert.severity_${a.severity}`)) },
			{ label: t('alerts.rule'), cell: a => h('span', {}, t(`alert.rule_${a.rule}`), h('div', { class: 'small' }, t(`alert.help_${a.rule}`))) },
			{ label: t('audit.time'), cell: a => fmtTime(a.created), class: 'nowrap' },
			{ label: t('alerts.concerns'), cell: a => h('span', {}, shortId(a.actor_id),
				a.source_ip ? h('div', { class: 'small mono' }, a.source_ip) : null) },
			{ label: t('common.status'), cell: a => a.acked ?
				h('span', {}, h('span', { class: 'badge ok' }, t('alerts.acked_badge')),
					h('div', { class: 'small' }, fmtTime(a.acked_at))) :
				button(t('alerts.ack'), async () => {
					try {
						await api('POST', `/api/v1/alerts/${encodeURIComponent(a.id)}/ack`);
						await load();
					} catch (err) { say(msg, 'error', errorText(err)); }
				}, 'small primary', { 'data-testid': `ack-${a.id}` }) },
			{ label: t('audit.detail'), cell: a => h('a', { href: alertLogLink(a) }, t('alerts.see_log')) },
		], rows, t('alerts.none')));
		clear(more);
		if (r.next_cursor) more.append(button(t('common.more'), () => load(r.next_cursor).catch(err => say(msg, 'error', errorText(err)))));
	});
	state.addEventListener('change', () => load().catch(err => say(msg, 'error', errorText(err))));
	main.append(h('div', { class: 'page-head' }, h('h1', {}, t('nav.alerts'))),
		h('div', { class: 'toolbar' }, field(t('alerts.show'), state),
			button(t('common.refresh'), () => load().catch(err => say(msg, 'error', errorText(err))),
				'', { 'data-testid': 'alerts-refresh' })), msg, box, more);
	await load();
}

export const views = [
	{ path: 'audit', nav: 'nav.audit', section: 'admin', perm: 'audit.read', render: renderAudit },
	{ path: 'alerts', nav: 'nav.alerts', section: 'admin', perm: 'audit.read', render: renderAlerts },
];
