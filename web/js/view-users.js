// Administration: users (list, invitation, per-user actions), roles (the
// built-in ones and a custom-role editor over the permission catalogue)
// and the access review (table and CSV).
import { h, clear, field, input, select, button, say, notice, fmtTime, errorText,
	confirmDialog, formDialog, nextId } from './dom.js';
import { t, lang } from './i18n.js';
import { api, download } from './api.js';

const BUILTIN = ['tenant_admin', 'member'];
const STATUSES = ['active', 'invited', 'disabled'];
const PAGE = 50;

// Append children, skipping null/false (Element.append would write "null").
function put(el, ...kids) {
	el.append(...kids.flat().filter(k => k !== null && k !== undefined && k !== false));
	return el;
}

// ---------------------------------------------------------------- helpers

// A table whose rows can carry attributes (data-testid): columns
// [{label, cell: row => node|string, class}].
function dataTable(columns, rows, rowAttrs, caption) {
	return h('div', { class: 'table-wrap' }, h('table', { class: 'admin-table' },
		caption ? h('caption', { class: 'sr-only' }, caption) : null,
		h('thead', {}, h('tr', {}, columns.map(c =>
			h('th', { scope: 'col', class: c.class || '' }, c.label)))),
		h('tbody', {}, rows.map(r => h('tr', rowAttrs ? rowAttrs(r) : {}, columns.map(c =>
			h('td', { class: c.class || '' }, c.cell(r))))))));
}

function pageHead(titleKey, ...extra) {
	return h('div', { class: 'page-head' }, h('h1', {}, t(titleKey)), ...extra);
}

// Role id -> what people read: built-in roles translated, custom roles
// by name (or the id when the caller cannot read roles).
function roleName(id, roles) {
	if (BUILTIN.includes(id)) return t(`users.role_${id}`);
	const r = roles && roles.get(id);
	return r ? r.name : id;
}

function roleBadges(ids, roles) {
	return h('span', { class: 'badges' }, (ids || []).map(id =>
		h('span', { class: `badge role${id === 'tenant_admin' ? ' admin' : ''}` }, roleName(id, roles))));
}

function statusBadge(status) {
	const cls = { active: 'ok', invited: 'warn', disabled: '' }[status] || '';
	return h('span', { class: `badge ${cls}`, 'data-testid': 'status-badge' },
		t(`users.status_${status}`, null, true) || status);
}

function userBadges(u) {
	return h('span', { class: 'badges' }, statusBadge(u.status),
		u.locked ? h('span', { class: 'badge danger', 'data-testid': 'locked-badge' }, t('users.locked')) : null);
}

function mfaBadge(on) {
	return on ? h('span', { class: 'badge ok' }, t('users.mfa_on'))
		: h('span', { class: 'badge' }, t('users.mfa_off'));
}

// The roles the caller may read, by id (built-ins included); empty
// without roles.read.
async function loadRoles(ctx) {
	const m = new Map();
	if (!ctx.hasPerm('roles.read')) return m;
	const r = await api('GET', '/api/v1/roles');
	for (const role of r.items) m.set(role.id, role);
	return m;
}

// Checkboxes for the roles a user gets.
function roleChecks(roles, chosen) {
	const ids = [...BUILTIN, ...[...roles.keys()].filter(id => !BUILTIN.includes(id))];
	const boxes = ids.map(id => {
		const box = h('input', { type: 'checkbox', id: nextId('role'), value: id,
			checked: chosen.includes(id), 'data-testid': `role-${id}` });
		const role = roles.get(id);
		return h('div', { class: 'check' }, box,
			h('label', { for: box.id }, roleName(id, roles),
				role && role.builtin === false && role.labels && role.labels.length
					? h('span', { class: 'small' }, ` (${role.labels.join(', ')})`) : null));
	});
	const fs = h('fieldset', { class: 'checks' }, h('legend', {}, t('users.roles')), boxes,
		h('div', { class: 'hint' }, t('users.roles_hint')));
	fs.value = () => boxes.map(b => b.querySelector('input')).filter(b => b.checked).map(b => b.value);
	return fs;
}

const LOGIN_RE = /^[A-Za-z0-9._@+-]{1,128}$/;
const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

function fieldError(key) {
	const e = new Error(key);
	e.code = key;            // errorText() finds error.<key> in our catalogue
	return e;
}

// Shows an invitation link once, to copy; resolves when closed.
function linkDialog(user, res) {
	const url = `${location.origin}/console/#/invite/${res.invitation_token}`;
	return new Promise(resolve => {
		const dlg = h('dialog', { class: 'dialog', 'aria-labelledby': 'dlg-title',
			'data-testid': 'invite-link-dialog' });
		const link = input({ readonly: true, value: url, class: 'mono link-box',
			'data-testid': 'invite-link' });
		const status = h('span', { class: 'copy-status', role: 'status', 'aria-live': 'polite' });
		const copy = button(t('users.copy'), async () => {
			let ok = false;
			try {
				await navigator.clipboard.writeText(url);
				ok = true;
			} catch (e) {
				link.focus();
				link.select();
				try { ok = document.execCommand('copy'); } catch (e2) { ok = false; }
			}
			status.textContent = ok ? t('users.copied') : t('users.copy_failed');
		}, 'primary', { 'data-testid': 'invite-copy' });
		const close = () => { dlg.close(); dlg.remove(); resolve(); };
		put(dlg,
			h('h2', { id: 'dlg-title' }, t('users.link_title')),
			notice('ok', t('users.link_created', { login: user.login_id })),
			h('p', {}, t('users.link_intro')),
			field(t('users.link_label'), link, t('users.link_valid', { time: fmtTime(res.invitation_expires) })),
			h('div', { class: 'copy-row' }, copy, status),
			h('p', { class: 'small' }, t('users.link_once')),
			h('div', { class: 'actions' }, button(t('common.close'), close, '', { 'data-testid': 'invite-link-close' })));
		dlg.addEventListener('cancel', e => { e.preventDefault(); close(); });
		document.body.appendChild(dlg);
		dlg.showModal();
		link.focus();
		link.select();
	});
}

async function inviteDialog(roles) {
	const login = input({ autocomplete: 'off', autocapitalize: 'none', spellcheck: 'false', maxlength: 128, 'data-testid': 'invite-login' });
	const email = input({ inputmode: 'email', autocomplete: 'off', spellcheck: 'false', maxlength: 254, 'data-testid': 'invite-email' });
	const name = input({ autocomplete: 'off', maxlength: 200, 'data-testid': 'invite-name' });
	const checks = roleChecks(roles, ['member']);
	const res = await formDialog(t('users.invite_title'), body => {
		put(body,
			h('p', { class: 'small' }, t('users.invite_intro')),
			field(t('users.login_id'), login, t('users.login_hint')),
			field(t('users.email'), email),
			field(t('users.display_name'), name, t('users.display_name_hint')),
			checks);
		return async () => {
			const roleIds = checks.value();
			if (!LOGIN_RE.test(login.value.trim())) throw fieldError('users_bad_login');
			if (!EMAIL_RE.test(email.value.trim())) throw fieldError('users_bad_email');
			if (!roleIds.length) throw fieldError('users_no_role');
			const req = { login_id: login.value.trim(), email: email.value.trim(), roles: roleIds };
			if (name.value.trim()) req.display_name = name.value.trim();
			return api('POST', '/api/v1/users', req);
		};
	}, t('users.invite_send'));
	if (res) await linkDialog(res, res);
	return res;
}

async function editDialog(u, roles) {
	const name = input({ value: u.display_name || '', maxlength: 200, 'data-testid': 'edit-name' });
	const email = input({ inputmode: 'email', spellcheck: 'false', value: u.email || '', maxlength: 254, 'data-testid': 'edit-email' });
	// roles the caller cannot read (no roles.read) still show, by id
	const known = new Map(roles);
	for (const id of u.roles)
		if (!known.has(id) && !BUILTIN.includes(id)) known.set(id, { id, name: id });
	const checks = roleChecks(known, u.roles);
	return formDialog(t('users.edit_title', { login: u.login_id }), body => {
		put(body,
			h('dl', { class: 'facts' }, h('dt', {}, t('users.login_id')), h('dd', {}, u.login_id)),
			field(t('users.display_name'), name),
			field(t('users.email'), email),
			checks);
		return async () => {
			const req = {};
			const roleIds = checks.value();
			if (!name.value.trim()) throw fieldError('users_no_name');
			if (!EMAIL_RE.test(email.value.trim())) throw fieldError('users_bad_email');
			if (!roleIds.length) throw fieldError('users_no_role');
			if (name.value.trim() !== (u.display_name || '')) req.display_name = name.value.trim();
			if (email.value.trim() !== (u.email || '')) req.email = email.value.trim();
			const same = roleIds.length === u.roles.length && roleIds.every(r => u.roles.includes(r));
			if (!same) req.roles = roleIds;
			if (!Object.keys(req).length) return u;
			return api('PATCH', `/api/v1/users/${u.id}`, req);
		};
	});
}

// The actions on one user; each resolves to a message key to show (or
// null), and throws the server's error.
const ACTIONS = {
	async disable(u) {
		if (!await confirmDialog(t('users.disable_title', { login: u.login_id }), t('users.disable_text'),
			t('users.disable'), true)) return null;
		await api('PATCH', `/api/v1/users/${u.id}`, { status: 'disabled' });
		return t('users.disabled_done', { login: u.login_id });
	},
	async enable(u) {
		if (!await confirmDialog(t('users.enable_title', { login: u.login_id }), t('users.enable_text'),
			t('users.enable'))) return null;
		await api('PATCH', `/api/v1/users/${u.id}`, { status: 'active' });
		return t('users.enabled_done', { login: u.login_id });
	},
	async unlock(u) {
		await api('POST', `/api/v1/users/${u.id}/unlock`);
		return t('users.unlocked_done', { login: u.login_id });
	},
	async revoke(u) {
		if (!await confirmDialog(t('users.revoke_title', { login: u.login_id }), t('users.revoke_text'),
			t('users.revoke'), true)) return null;
		const r = await api('POST', `/api/v1/users/${u.id}/revoke-sessions`);
		return t('users.revoked_done', { n: r.sessions_ended });
	},
	async reset_mfa(u) {
		if (!await confirmDialog(t('users.reset_mfa_title', { login: u.login_id }), t('users.reset_mfa_text'),
			t('users.reset_mfa'), true)) return null;
		await api('POST', `/api/v1/users/${u.id}/reset-mfa`);
		return t('users.reset_mfa_done', { login: u.login_id });
	},
	async reinvite(u) {
		if (!await confirmDialog(t('users.reinvite_title', { login: u.login_id }), t('users.reinvite_text'),
			t('users.reinvite'))) return null;
		const r = await api('POST', `/api/v1/users/${u.id}/reinvite`);
		await linkDialog(u, r);
		return t('users.reinvited_done', { login: u.login_id });
	},
	async delete(u) {
		if (!await confirmDialog(t('users.delete_title', { login: u.login_id }), t('users.delete_text'),
			t('common.delete'), true)) return null;
		await api('DELETE', `/api/v1/users/${u.id}`);
		return t('users.deleted_done', { login: u.login_id });
	},
};

// The actions that apply to a user in their state, in menu order.
function actionsFor(u) {
	const list = [];
	if (u.locked) list.push('unlock');
	if (u.status === 'invited') list.push('reinvite');
	if (u.status === 'active') list.push('revoke');
	if (u.mfa_enabled) list.push('reset_mfa');
	if (u.status === 'disabled') list.push('enable');
	else list.push('disable');
	list.push('delete');
	return list;
}

const DANGER = new Set(['disable', 'delete', 'revoke', 'reset_mfa']);

// ---------------------------------------------------------------- users

async function renderUsers(ctx) {
	if (ctx.params[0]) return renderUser(ctx);
	const { main } = ctx;
	const write = ctx.hasPerm('users.write');
	const roles = await loadRoles(ctx);
	const msg = h('div', { class: 'msg', 'data-testid': 'users-msg' });
	const seats = h('div', { class: 'seats', 'data-testid': 'seats' });
	const listBox = h('div', { 'data-testid': 'users-list' });
	const more = h('div', { class: 'actions' });
	let items = [], cursor = null;

	const status = select([['', t('common.all')], ...STATUSES.map(s => [s, t(`users.status_${s}`)])], '',
		{ 'data-testid': 'filter-status' });
	const role = select([['', t('common.all')], ...[...new Set([...BUILTIN, ...roles.keys()])].map(id =>
		[id, roleName(id, roles)])], '', { 'data-testid': 'filter-role' });
	const search = input({ type: 'search', autocomplete: 'off', 'data-testid': 'filter-search' });

	const showSeats = s => {
		if (!s) return;
		const pct = s.total ? Math.min(100, Math.round(100 * s.used / s.total)) : 100;
		put(clear(seats),
			h('div', { class: 'seats-text' }, h('span', { class: 'small' }, t('users.seats')), ' ',
				h('strong', { 'data-testid': 'seats-used' }, t('users.seats_value', { used: s.used, total: s.total }))),
			h('progress', { class: `seats-bar${pct >= 100 ? ' full' : ''}`, max: s.total || 1, value: Math.min(s.used, s.total || 1),
				'aria-label': t('users.seats') }),
			pct >= 100 ? h('div', { class: 'small warn-text' }, t('users.seats_full')) : null);
	};

	const act = async (name, u) => {
		say(msg, null, null);
		try {
			const done = await ACTIONS[name](u);
			if (done) { await reload(); say(msg, 'ok', done); }
		} catch (err) {
			say(msg, 'error', errorText(err));
		}
	};

	const draw = () => {
		const q = search.value.trim().toLowerCase();
		const rows = q ? items.filter(u => [u.login_id, u.display_name, u.email]
			.some(v => (v || '').toLowerCase().includes(q))) : items;
		const cols = [
			{ label: t('users.user'), cell: u => h('div', { class: 'user-cell' },
				h('a', { href: `#/users/${u.id}`, class: 'user-name', 'data-testid': 'user-link' }, u.display_name || u.login_id),
				h('div', { class: 'small mono' }, u.login_id),
				h('div', { class: 'small email' }, u.email)) },
			{ label: t('users.roles'), cell: u => roleBadges(u.roles, roles) },
			{ label: t('common.status'), cell: u => userBadges(u) },
			{ label: t('users.mfa'), cell: u => mfaBadge(u.mfa_enabled) },
			{ label: t('users.last_login'), class: 'nowrap', cell: u => fmtTime(u.last_login) },
		];
		if (write) cols.push({ label: t('common.actions'), class: 'acts-col', cell: u => h('div', { class: 'btns' },
			button(t('common.edit'), async () => {
				say(msg, null, null);
				const r = await editDialog(u, roles);
				if (r) { await reload(); say(msg, 'ok', t('users.updated_done', { login: u.login_id })); }
			}, 'small', { 'data-testid': 'user-edit' }),
			u.locked ? button(t('users.unlock'), () => act('unlock', u), 'small', { 'data-testid': 'user-unlock' }) : null,
			h('a', { href: `#/users/${u.id}`, class: 'button small', 'data-testid': 'user-manage' }, t('users.manage'))) });
		put(clear(listBox), rows.length
			? dataTable(cols, rows, u => ({ 'data-testid': `user-row-${u.login_id}`, 'data-id': u.id }), t('users.title'))
			: h('p', { class: 'empty' }, q ? t('users.no_match') : t('users.none')));
		clear(more);
		if (cursor) put(more, button(t('common.more'), loadMore, '', { 'data-testid': 'users-more' }));
		if (q && cursor) put(more, h('span', { class: 'small' }, t('users.search_loaded', { n: items.length })));
	};

	const fetchPage = async after => api('GET', '/api/v1/users', null,
		{ status: status.value, role: role.value, limit: PAGE, cursor: after });
	async function loadMore() {
		try {
			const r = await fetchPage(cursor);
			items = items.concat(r.items);
			cursor = r.next_cursor;
			showSeats(r.seats);
			draw();
		} catch (err) { say(msg, 'error', errorText(err)); }
	}
	async function reload() {
		const r = await fetchPage(null);
		items = r.items;
		cursor = r.next_cursor;
		showSeats(r.seats);
		draw();
	}
	const refilter = async () => {
		say(msg, null, null);
		try { await reload(); } catch (err) { say(msg, 'error', errorText(err)); }
	};
	status.addEventListener('change', refilter);
	role.addEventListener('change', refilter);
	search.addEventListener('input', draw);

	put(main,
		pageHead('users.title',
			write ? button(t('users.invite'), async () => {
				say(msg, null, null);
				const r = await inviteDialog(roles);
				if (r) { await reload(); say(msg, 'ok', t('users.invited_done', { login: r.login_id })); }
			}, 'primary', { 'data-testid': 'invite-open' }) : null),
		h('p', { class: 'lead' }, t('users.intro')),
		seats,
		write ? null : notice('info', t('users.read_only')),
		h('div', { class: 'toolbar filters' },
			field(t('common.status'), status),
			field(t('users.role'), role),
			field(t('users.search'), search, t('users.search_hint'))),
		msg, listBox, more);
	await reload();
}

// One user: facts and every action, with what it does.
async function renderUser(ctx) {
	const { main } = ctx;
	const write = ctx.hasPerm('users.write');
	const [u, roles] = await Promise.all([
		api('GET', `/api/v1/users/${encodeURIComponent(ctx.params[0])}`), loadRoles(ctx)]);
	const msg = h('div', { class: 'msg', 'data-testid': 'user-msg' });
	const rerender = async text => {
		await ctx.route();
		if (text) {
			const box = document.querySelector('[data-testid="user-msg"]');
			if (box) say(box, 'ok', text);
		}
	};
	put(main,
		h('nav', { class: 'crumbs', 'aria-label': t('users.crumbs') },
			h('a', { href: '#/users' }, t('users.title')), ' › ', u.login_id),
		pageHead('users.detail_title',
			write ? button(t('common.edit'), async () => {
				const r = await editDialog(u, roles);
				if (r) await rerender(t('users.updated_done', { login: u.login_id }));
			}, 'primary', { 'data-testid': 'detail-edit' }) : null),
		msg,
		h('section', { class: 'panel', 'aria-labelledby': 'h-user' },
			h('h2', { id: 'h-user' }, u.display_name || u.login_id, ' ', userBadges(u)),
			h('dl', { class: 'facts wide-facts' },
				h('dt', {}, t('users.login_id')), h('dd', { class: 'mono' }, u.login_id),
				h('dt', {}, t('users.email')), h('dd', {}, u.email),
				h('dt', {}, t('users.display_name')), h('dd', {}, u.display_name),
				h('dt', {}, t('users.roles')), h('dd', {}, roleBadges(u.roles, roles)),
				h('dt', {}, t('users.mfa')), h('dd', {}, mfaBadge(u.mfa_enabled)),
				h('dt', {}, t('users.must_change')), h('dd', {}, u.must_change_password ? t('common.yes') : t('common.no')),
				h('dt', {}, t('users.last_login')), h('dd', {}, fmtTime(u.last_login)),
				h('dt', {}, t('common.created')), h('dd', {}, fmtTime(u.created)))));
	if (!write) {
		put(main, notice('info', t('users.read_only')));
		return;
	}
	put(main, h('section', { class: 'panel', 'aria-labelledby': 'h-actions' },
		h('h2', { id: 'h-actions' }, t('users.actions_title')),
		h('ul', { class: 'action-list' }, actionsFor(u).map(name => h('li', {},
			h('div', { class: 'action-text' },
				h('strong', {}, t(`users.${name}`)),
				h('div', { class: 'small' }, t(`users.${name}_help`))),
			button(t(`users.${name}`), async () => {
				say(msg, null, null);
				try {
					const done = await ACTIONS[name](u);
					if (!done) return;
					if (name === 'delete') { ctx.navigate('users'); return; }
					await rerender(done);
				} catch (err) {
					say(msg, 'error', errorText(err));
				}
			}, DANGER.has(name) ? 'danger' : '', { 'data-testid': `action-${name}` }))))));
}

// ---------------------------------------------------------------- roles

// Permission groups of the editor, in order; anything else is "other".
const GROUPS = [
	['users', ['users.read', 'users.write', 'roles.read', 'roles.write', 'access_review.read']],
	['security', ['settings.read', 'settings.write', 'audit.read']],
	['workspace', ['projects.all', 'files.read', 'files.write', 'exports.write', 'tokens.write']],
	['ai', p => p.startsWith('ai.')],
];

function groupOf(name) {
	for (const [g, m] of GROUPS)
		if (typeof m === 'function' ? m(name) : m.includes(name)) return g;
	return 'other';
}

// What a permission allows, in the console's language: our catalogue
// first, then the server's own description.
function permText(p) {
	const name = typeof p === 'string' ? p : p.name;
	const s = t(`perm.${name}`, null, true);
	if (s !== null) return s;
	if (typeof p === 'object') return p[lang()] || p.en || name;
	return name;
}

function permList(names, catalogue) {
	const sorted = [...names].sort((a, b) => {
		const ga = GROUPS.findIndex(([g]) => g === groupOf(a)), gb = GROUPS.findIndex(([g]) => g === groupOf(b));
		return ga - gb || a.localeCompare(b);
	});
	return h('ul', { class: 'perm-list' }, sorted.map(n => h('li', {},
		permText(catalogue.get(n) || n), ' ', h('code', { class: 'small' }, n))));
}

async function roleDialog(role, catalogue, me) {
	const name = input({ value: role ? role.name : '', maxlength: 64, 'data-testid': 'role-name' });
	const labels = input({ value: role ? role.labels.join(', ') : '', 'data-testid': 'role-labels' });
	const chosen = new Set(role ? role.permissions : []);
	const boxes = [];
	const groups = new Map();
	for (const p of catalogue.values()) {
		const g = groupOf(p.name);
		if (!groups.has(g)) groups.set(g, []);
		groups.get(g).push(p);
	}
	const order = [...GROUPS.map(([g]) => g), 'other'].filter(g => groups.has(g));
	const sets = order.map(g => h('fieldset', { class: 'perm-group' },
		h('legend', {}, t(`users.perm_group_${g}`)),
		groups.get(g).map(p => {
			const held = me.permissions.includes(p.name);
			const box = h('input', { type: 'checkbox', id: nextId('perm'), value: p.name,
				checked: chosen.has(p.name), disabled: !held && !chosen.has(p.name),
				'data-testid': `perm-${p.name}` });
			boxes.push(box);
			return h('div', { class: 'check perm' }, box,
				h('label', { for: box.id },
					h('span', { class: 'perm-text' }, permText(p)),
					h('span', { class: 'perm-meta' }, h('code', {}, p.name),
						p.admin_only ? h('span', { class: 'badge warn' }, t('users.admin_only')) : null,
						held ? null : h('span', { class: 'badge' }, t('users.not_held')))));
		})));
	return formDialog(role ? t('users.role_edit_title', { name: role.name }) : t('users.role_new_title'), body => {
		put(body,
			field(t('common.name'), name),
			field(t('common.labels'), labels, t('common.labels_hint')),
			h('p', { class: 'small' }, t('users.role_perms_intro')),
			...sets);
		return async () => {
			const req = {
				name: name.value.trim(),
				labels: labels.value.split(/[,、]/).map(s => s.trim()).filter(Boolean),
				permissions: boxes.filter(b => b.checked).map(b => b.value),
			};
			if (!req.name) throw fieldError('users_no_role_name');
			if (role) return api('PATCH', `/api/v1/roles/${role.id}`, req);
			return api('POST', '/api/v1/roles', req);
		};
	}, role ? t('common.save') : t('common.create'));
}

async function renderRoles(ctx) {
	const { main, me } = ctx;
	const write = ctx.hasPerm('roles.write');
	const msg = h('div', { class: 'msg', 'data-testid': 'roles-msg' });
	const listBox = h('div', { 'data-testid': 'roles-list' });
	const label = input({ type: 'search', autocomplete: 'off', 'data-testid': 'roles-label' });
	const perms = await api('GET', '/api/v1/permissions');
	const catalogue = new Map(perms.items.map(p => [p.name, p]));

	const draw = async () => {
		const r = await api('GET', '/api/v1/roles', null, { label: label.value.trim() });
		const cols = [
			{ label: t('common.name'), cell: r2 => h('div', {},
				h('strong', {}, r2.builtin ? t(`users.role_${r2.id}`, null, true) || r2.name : r2.name), ' ',
				r2.builtin ? h('span', { class: 'badge' }, t('users.builtin')) : h('span', { class: 'badge ok' }, t('users.custom')),
				r2.builtin ? h('div', { class: 'small' }, t(`users.role_${r2.id}_help`, null, true) || '') : null) },
			{ label: t('common.labels'), cell: r2 => h('span', { class: 'badges' },
				r2.labels.map(l => h('span', { class: 'badge label' }, l))) },
			{ label: t('users.permissions'), cell: r2 => r2.permissions.length
				? h('details', { class: 'perms' },
					h('summary', {}, t('users.perm_count', { n: r2.permissions.length })),
					permList(r2.permissions, catalogue))
				: h('span', { class: 'small' }, t('users.no_perms')) },
			{ label: t('common.updated'), class: 'nowrap', cell: r2 => r2.builtin ? '—' : fmtTime(r2.updated) },
		];
		if (write) cols.push({ label: t('common.actions'), class: 'acts-col', cell: r2 => r2.builtin ? null : h('div', { class: 'btns' },
			button(t('common.edit'), async () => {
				say(msg, null, null);
				const res = await roleDialog(r2, catalogue, me);
				if (res) { await draw(); say(msg, 'ok', t('users.role_saved', { name: res.name })); }
			}, 'small', { 'data-testid': 'role-edit' }),
			button(t('common.delete'), async () => {
				say(msg, null, null);
				if (!await confirmDialog(t('users.role_delete_title', { name: r2.name }),
					t('users.role_delete_text'), t('common.delete'), true)) return;
				try {
					await api('DELETE', `/api/v1/roles/${r2.id}`);
					await draw();
					say(msg, 'ok', t('users.role_deleted', { name: r2.name }));
				} catch (err) { say(msg, 'error', errorText(err)); }
			}, 'small danger', { 'data-testid': 'role-delete' })) });
		put(clear(listBox), r.items.length
			? dataTable(cols, r.items, r2 => ({ 'data-testid': `role-row-${r2.builtin ? r2.id : r2.name}` }), t('users.roles_title'))
			: h('p', { class: 'empty' }, t('users.no_roles')));
	};
	let timer = null;
	label.addEventListener('input', () => {
		clearTimeout(timer);
		timer = setTimeout(() => draw().catch(err => say(msg, 'error', errorText(err))), 250);
	});
	put(main,
		pageHead('users.roles_title',
			write ? button(t('users.role_new'), async () => {
				say(msg, null, null);
				const res = await roleDialog(null, catalogue, me);
				if (res) { await draw(); say(msg, 'ok', t('users.role_created', { name: res.name })); }
			}, 'primary', { 'data-testid': 'role-new' }) : null),
		h('p', { class: 'lead' }, t('users.roles_intro')),
		write ? null : notice('info', t('users.roles_read_only')),
		h('div', { class: 'toolbar' }, field(t('users.label_filter'), label, t('users.label_filter_hint'))),
		msg, listBox);
	await draw();
}

// ---------------------------------------------------------------- access review

async function renderAccessReview(ctx) {
	const { main } = ctx;
	const r = await api('GET', '/api/v1/access-review');
	// project names, for those who may read every project
	const projects = new Map();
	if (ctx.hasPerm('files.read')) {
		try {
			let cursor = null, rounds = 0;
			do {
				const p = await api('GET', '/api/v1/projects', null, { limit: 200, cursor });
				for (const x of p.items) projects.set(x.id, x.name);
				cursor = p.next_cursor;
			} while (cursor && ++rounds < 10);
		} catch (e) { /* names are a convenience; ids are shown instead */ }
	}
	const projectCell = list => list.length
		? h('ul', { class: 'proj-list' }, list.map(s => {
			const i = s.lastIndexOf(':');
			const id = s.slice(0, i), role = s.slice(i + 1);
			return h('li', {}, projects.get(id) || h('code', { class: 'small' }, id), ' ',
				h('span', { class: 'badge' }, t(`users.project_role_${role}`, null, true) || role));
		}))
		: h('span', { class: 'small' }, '—');
	const cols = [
		{ label: t('users.user'), cell: u => h('div', { class: 'user-cell' },
			h('strong', {}, u.display_name || u.login_id), h('div', { class: 'small mono' }, u.login_id),
			h('div', { class: 'small' }, u.email)) },
		{ label: t('common.status'), cell: u => userBadges(u) },
		{ label: t('users.roles'), cell: u => h('span', { class: 'badges' }, (u.role_names || []).map(n =>
			h('span', { class: `badge role${n === 'tenant_admin' ? ' admin' : ''}` },
				BUILTIN.includes(n) ? t(`users.role_${n}`) : n))) },
		{ label: t('users.permissions'), cell: u => u.permissions.length
			? h('details', { class: 'perms' }, h('summary', {}, t('users.perm_count', { n: u.permissions.length })),
				permList(u.permissions, new Map()))
			: h('span', { class: 'small' }, t('users.no_perms')) },
		{ label: t('users.mfa'), cell: u => mfaBadge(u.mfa_enabled) },
		{ label: t('users.last_login'), class: 'nowrap', cell: u => fmtTime(u.last_login) },
		{ label: t('users.projects'), cell: u => projectCell(u.projects || []) },
	];
	put(main,
		pageHead('users.access_title',
			button(t('users.access_csv'), async () => {
				try { await download('/api/v1/access-review?format=csv', 'access-review.csv'); } catch (err) {
					const box = main.querySelector('.access-msg');
					if (box) say(box, 'error', errorText(err));
				}
			}, 'primary', { 'data-testid': 'access-csv' })),
		h('div', { class: 'msg access-msg' }),
		h('p', { class: 'lead' }, t('users.access_intro')),
		h('p', { class: 'small', 'data-testid': 'access-count' }, t('users.access_count', { n: r.items.length })),
		r.items.length
			? dataTable(cols, r.items, u => ({ 'data-testid': `access-row-${u.login_id}` }), t('users.access_title'))
			: h('p', { class: 'empty' }, t('users.none')));
}

export const views = [
	{ path: 'users', nav: 'nav.users', section: 'admin', perm: 'users.read', render: renderUsers },
	{ path: 'roles', nav: 'nav.roles', section: 'admin', perm: 'roles.read', render: renderRoles },
	{ path: 'access-review', nav: 'nav.access_review', section: 'admin', perm: 'access_review.read', render: renderAccessReview },
];
