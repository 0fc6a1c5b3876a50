// My account: profile, password change, two-step verification (TOTP with
// a QR code drawn from the server's modules, recovery codes), my sessions
// and my sign-in history.  While a password change or MFA enrolment is
// pending, this is the only screen the console offers.
import { h, clear, fill, field, input, button, say, table, fmtTime, errorText, confirmDialog } from './dom.js';
import { t } from './i18n.js';
import { api } from './api.js';
import { policyChecklist } from './view-auth.js';
import { actionLabel, outcomeBadge } from './view-audit.js';

function panel(id, title, ...content) {
	return h('section', { class: 'panel', 'aria-labelledby': id, id: `${id}-panel` },
		h('h2', { id }, title), ...content);
}

function profile(me) {
	return panel('h-profile', t('account.profile'), h('dl', { class: 'facts' },
		h('dt', {}, t('account.login_id')), h('dd', {}, me.login_id),
		h('dt', {}, t('account.display_name')), h('dd', {}, me.display_name || '—'),
		h('dt', {}, t('account.email')), h('dd', {}, me.email || '—'),
		h('dt', {}, t('account.organisation')), h('dd', {}, `${me.tenant.name} (${me.tenant.contract_id})`),
		h('dt', {}, t('account.last_login')), h('dd', {}, fmtTime(me.last_login))));
}

function passwordForm(ctx) {
	const cur = input({ type: 'password', autocomplete: 'current-password', 'data-testid': 'pw-current' });
	const pw = input({ type: 'password', autocomplete: 'new-password', 'data-testid': 'pw-new' });
	const pw2 = input({ type: 'password', autocomplete: 'new-password', 'data-testid': 'pw-new2' });
	const msg = h('div', { class: 'msg' });
	const form = h('form', { novalidate: true },
		field(t('account.current_password'), cur),
		field(t('auth.new_password'), pw),
		policyChecklist(ctx.me.password_policy, pw),
		field(t('auth.repeat_password'), pw2),
		msg,
		h('button', { type: 'submit', class: 'primary', 'data-testid': 'pw-submit' }, t('account.change_password')));
	form.addEventListener('submit', async e => {
		e.preventDefault();
		say(msg, null, null);
		if (!cur.value || !pw.value) { say(msg, 'error', t('auth.fill_all')); return; }
		if (pw.value !== pw2.value) { say(msg, 'error', t('auth.mismatch')); return; }
		try {
			await api('PUT', '/api/v1/me/password', { current_password: cur.value, new_password: pw.value });
			cur.value = pw.value = pw2.value = '';
			const wasSetup = ctx.me.must_change_password;
			await ctx.refreshMe();
			if (wasSetup) { ctx.navigate('home'); return; }
			say(msg, 'ok', t('account.password_changed'));
		} catch (err) {
			say(msg, 'error', errorText(err));
		}
	});
	return panel('h-password', t('account.password'),
		h('p', { class: 'small' }, t('account.password_intro')), form);
}

// Draw the QR code's modules (row by row, '1' dark) on a canvas, with
// the quiet zone the standard asks for.
function qrCanvas(qr) {
	const scale = 5, quiet = 4, n = qr.size;
	const c = h('canvas', { class: 'qr', width: (n + 2 * quiet) * scale, height: (n + 2 * quiet) * scale,
		role: 'img', 'aria-label': t('account.qr_label'), 'data-testid': 'totp-qr' });
	const g = c.getContext('2d');
	g.fillStyle = '#fff';
	g.fillRect(0, 0, c.width, c.height);
	g.fillStyle = '#000';
	for (let y = 0; y < n; y++)
		for (let x = 0; x < n; x++)
			if (qr.modules[y * n + x] === '1')
				g.fillRect((x + quiet) * scale, (y + quiet) * scale, scale, scale);
	return c;
}

function mfaPanel(ctx) {
	const me = ctx.me;
	const body = h('div');
	const msg = h('div', { class: 'msg' });
	const sec = panel('h-mfa', t('account.mfa'), body, msg);
	const showOff = () => {
		fill(body, 
			h('p', {}, h('span', { class: 'badge warn' }, t('account.mfa_off')), ' ', t('account.mfa_off_intro')),
			button(t('account.mfa_setup'), start, 'primary', { 'data-testid': 'mfa-setup' }));
	};
	const showOn = () => {
		const code = input({ autocomplete: 'one-time-code', maxlength: 6, inputmode: 'numeric', 'data-testid': 'mfa-off-code' });
		fill(body, 
			h('p', {}, h('span', { class: 'badge ok' }, t('account.mfa_on')), ' ',
				t('account.codes_left', { n: me.recovery_codes_left })));
		if (me.mfa_required_by_tenant) {
			body.append(h('p', { class: 'small' }, t('account.mfa_required')));
			return;
		}
		const form = h('form', { class: 'toolbar', novalidate: true },
			field(t('account.mfa_off_code'), code),
			h('button', { type: 'submit', class: 'danger', 'data-testid': 'mfa-off' }, t('account.mfa_turn_off')));
		form.addEventListener('submit', async e => {
			e.preventDefault();
			say(msg, null, null);
			if (!(await confirmDialog(t('account.mfa_turn_off'), t('account.mfa_off_confirm'), t('account.mfa_turn_off'), true))) return;
			try {
				await api('DELETE', '/api/v1/me/mfa/totp', { code: code.value.trim() });
				await ctx.refreshMe();
				ctx.route();
			} catch (err) {
				say(msg, 'error', errorText(err));
			}
		});
		body.append(form);
	};
	async function start() {
		say(msg, null, null);
		let r;
		try {
			r = await api('POST', '/api/v1/me/mfa/totp');
		} catch (err) {
			say(msg, 'error', errorText(err));
			return;
		}
		const code = input({ autocomplete: 'one-time-code', maxlength: 6, inputmode: 'numeric', 'data-testid': 'mfa-confirm-code' });
		const form = h('form', { novalidate: true },
			field(t('account.mfa_confirm_code'), code),
			h('div', { class: 'actions' },
				h('button', { type: 'submit', class: 'primary', 'data-testid': 'mfa-confirm' }, t('account.mfa_confirm')),
				button(t('common.cancel'), () => { say(msg, null, null); showOff(); })));
		const secret = r.secret.replace(/(.{4})/g, '$1 ').trim();
		fill(body, 
			h('ol', { class: 'steps' },
				h('li', {}, t('account.mfa_step1')),
				h('li', {}, t('account.mfa_step2'))),
			h('div', { class: 'qr-row' },
				r.qr ? qrCanvas(r.qr) : null,
				h('div', {},
					h('p', { class: 'small' }, t('account.mfa_manual')),
					h('code', { class: 'secret', 'data-testid': 'totp-secret' }, secret))),
			h('ol', { class: 'steps', start: 3 }, h('li', {}, t('account.mfa_step3'))),
			form);
		code.focus();
		form.addEventListener('submit', async e => {
			e.preventDefault();
			say(msg, null, null);
			try {
				const res = await api('POST', '/api/v1/me/mfa/totp/confirm', { code: code.value.trim() });
				showCodes(res.recovery_codes);
			} catch (err) {
				say(msg, 'error', errorText(err));
				code.value = '';
				code.focus();
			}
		});
	}
	function showCodes(codes) {
		fill(body, 
			h('p', {}, h('span', { class: 'badge ok' }, t('account.mfa_on')), ' ', t('account.codes_intro')),
			h('ul', { class: 'codes', 'data-testid': 'recovery-codes' }, codes.map(c => h('li', {}, c))),
			button(t('account.codes_saved'), async () => {
				await ctx.refreshMe();
				ctx.route();
			}, 'primary', { 'data-testid': 'codes-saved' }));
	}
	if (me.mfa_enabled) showOn(); else showOff();
	return sec;
}

function sessionsPanel(ctx) {
	const box = h('div');
	const msg = h('div', { class: 'msg' });
	const load = async () => {
		const r = await api('GET', '/api/v1/me/sessions');
		fill(box, table([
			{ label: t('account.session_started'), cell: s => fmtTime(s.created), class: 'nowrap' },
			{ label: t('account.session_last_seen'), cell: s => fmtTime(s.last_seen), class: 'nowrap' },
			{ label: t('account.session_expires'), cell: s => fmtTime(s.expires), class: 'nowrap' },
			{ label: t('account.address'), cell: s => h('span', { class: 'mono' }, s.client_ip) },
			{ label: t('common.actions'), cell: s => s.current ?
				h('span', { class: 'badge ok' }, t('account.this_session')) :
				button(t('account.revoke'), async () => {
					try {
						await api('DELETE', `/api/v1/me/sessions/${encodeURIComponent(s.id)}`);
						await load();
					} catch (err) { say(msg, 'error', errorText(err)); }
				}, 'small danger') },
		], r.items));
	};
	const sec = panel('h-sessions', t('account.sessions'), box, msg,
		h('div', { class: 'actions' }, button(t('account.sign_out_all'), async () => {
			if (!(await confirmDialog(t('account.sign_out_all'), t('account.sign_out_all_confirm'), t('account.sign_out_all'), true))) return;
			try { await api('POST', '/api/v1/auth/logout-all'); } catch (err) { say(msg, 'error', errorText(err)); return; }
			ctx.signedOut('signed_out');
		}, 'danger')));
	load().catch(err => say(msg, 'error', errorText(err)));
	return sec;
}

function signInsPanel() {
	const box = h('div');
	const msg = h('div', { class: 'msg' });
	const more = h('div', { class: 'actions' });
	let rows = [];
	const load = async cursor => {
		const r = await api('GET', '/api/v1/me/sign-ins', null, { limit: 20, cursor });
		rows = rows.concat(r.items);
		fill(box, table([
			{ label: t('audit.time'), cell: e => fmtTime(e.time), class: 'nowrap' },
			{ label: t('audit.action'), cell: e => actionLabel(e.action) },
			{ label: t('audit.outcome'), cell: e => outcomeBadge(e.outcome) },
			{ label: t('account.address'), cell: e => h('span', { class: 'mono' }, e.source_ip || '') },
		], rows));
		clear(more);
		if (r.next_cursor) more.append(button(t('common.more'), () => load(r.next_cursor).catch(err => say(msg, 'error', errorText(err)))));
	};
	load().catch(err => say(msg, 'error', errorText(err)));
	return panel('h-signins', t('account.sign_ins'), box, more, msg);
}

async function render(ctx) {
	const me = ctx.me;
	const { main } = ctx;
	main.append(h('div', { class: 'page-head' }, h('h1', {}, t('account.title'))));
	if (me.must_change_password) {
		main.append(h('div', { class: 'msg' }, h('div', { class: 'notice notice-warn', role: 'status' }, t('account.setup_password'))),
			passwordForm(ctx));
		return;
	}
	if (me.mfa_required_by_tenant && !me.mfa_enabled) {
		main.append(h('div', { class: 'msg' }, h('div', { class: 'notice notice-warn', role: 'status' }, t('account.setup_mfa'))),
			mfaPanel(ctx));
		return;
	}
	main.append(h('div', { class: 'grid-2' }, profile(me), mfaPanel(ctx)),
		passwordForm(ctx), sessionsPanel(ctx), signInsPanel());
}

export const views = [{ path: 'account', nav: 'nav.account', section: 'account', perm: null, render }];
