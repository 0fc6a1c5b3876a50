// Public screens: sign-in, the second step (TOTP or recovery code) and
// invitation acceptance.  Every sign-in failure shows one generic message,
// whatever the cause (wrong password, unknown user, lockout, allowlist).
import { h, fill, field, input, say, errorText } from './dom.js';
import { t } from './i18n.js';
import { api } from './api.js';

let prefill = {};          // contract and login id after an invitation
let inviteToken = null;    // kept in memory once read out of the URL

function card(ctx, titleKey, ...content) {
	fill(ctx.root, h('div', { class: 'auth-page' },
		h('main', { class: 'auth-card', id: 'main' },
			h('div', { class: 'auth-head' },
				h('div', { class: 'brand' }, 'kura'), ctx.langSwitch()),
			h('h1', {}, t(titleKey)), ...content)));
}

function busy(form, on) {
	for (const el of form.querySelectorAll('button,input')) el.disabled = on;
}

function signin(ctx) {
	let saved = '';
	try { saved = localStorage.getItem('kura.contract') || ''; } catch (e) { /* none */ }
	const contract = input({ name: 'contract_id', autocomplete: 'organization',
		required: true, value: prefill.contract_id || saved, 'data-testid': 'contract' });
	const login = input({ name: 'login_id', autocomplete: 'username', required: true,
		value: prefill.login_id || '', 'data-testid': 'login' });
	const pw = input({ type: 'password', name: 'password', autocomplete: 'current-password',
		required: true, 'data-testid': 'password' });
	const msg = h('div', { class: 'msg' });
	const form = h('form', { novalidate: true },
		field(t('auth.contract_id'), contract, t('auth.contract_hint')),
		field(t('auth.login_id'), login),
		field(t('auth.password'), pw),
		msg,
		h('button', { type: 'submit', class: 'primary wide', 'data-testid': 'signin-submit' }, t('auth.sign_in')));
	prefill = {};
	if (ctx.flash && t(`auth.flash_${ctx.flash}`, null, true))
		say(msg, ctx.flash === 'signed_out' ? 'ok' : 'warn', t(`auth.flash_${ctx.flash}`));
	form.addEventListener('submit', async e => {
		e.preventDefault();
		say(msg, null, null);
		if (!contract.value.trim() || !login.value.trim() || !pw.value) {
			say(msg, 'error', t('auth.fill_all'));
			return;
		}
		busy(form, true);
		try {
			const res = await api('POST', '/api/v1/auth/login', {
				contract_id: contract.value.trim(), login_id: login.value.trim(),
				password: pw.value });
			try { localStorage.setItem('kura.contract', contract.value.trim()); } catch (e2) { /* none */ }
			pw.value = '';
			if (res.mfa_required) ctx.navigate('mfa');
			else await ctx.signedIn(res);
		} catch (err) {
			busy(form, false);
			pw.value = '';
			say(msg, 'error', err.code === 'invalid_credentials' ? t('auth.failed') : errorText(err));
			pw.focus();
		}
	});
	card(ctx, 'auth.title_signin', form);
	(contract.value ? (login.value ? pw : login) : contract).focus();
}

function mfa(ctx) {
	const code = input({ name: 'code', autocomplete: 'one-time-code', inputmode: 'text',
		required: true, maxlength: 32, 'data-testid': 'mfa-code' });
	const msg = h('div', { class: 'msg' });
	const form = h('form', { novalidate: true },
		h('p', {}, t('auth.mfa_intro')),
		field(t('auth.mfa_code'), code, t('auth.mfa_hint')),
		msg,
		h('button', { type: 'submit', class: 'primary wide', 'data-testid': 'mfa-submit' }, t('auth.verify')),
		h('p', { class: 'small' }, h('a', { href: '#/signin' }, t('auth.back_to_signin'))));
	form.addEventListener('submit', async e => {
		e.preventDefault();
		say(msg, null, null);
		if (!code.value.trim()) { say(msg, 'error', t('auth.fill_all')); return; }
		busy(form, true);
		try {
			const res = await api('POST', '/api/v1/auth/mfa', { code: code.value.trim() });
			await ctx.signedIn(res);
		} catch (err) {
			busy(form, false);
			code.value = '';
			say(msg, 'error', err.code === 'invalid_credentials' ? t('auth.mfa_failed') : errorText(err));
			code.focus();
		}
	});
	card(ctx, 'auth.title_mfa', form);
	code.focus();
}

// The rules of a password policy, ticked off as the user types.
export function policyChecklist(policy, pwInput) {
	const rules = [
		['len', t('auth.rule_length', { n: policy.min_length })],
		['classes', t('auth.rule_classes', { n: policy.min_classes })],
	];
	const items = {};
	// the common-password check is the server's, at submit: a note, not a
	// rule that could be ticked
	const list = h('ul', { class: 'policy', 'aria-live': 'polite', 'data-testid': 'policy' },
		rules.map(([k, label]) => (items[k] = h('li', { class: 'rule pending' }, label))),
		h('li', { class: 'note' }, t('auth.rule_common')));
	const update = () => {
		const pw = pwInput.value;
		const chars = [...pw].length;
		let classes = 0;
		for (const re of [/[A-Z]/, /[a-z]/, /[0-9]/, /[^A-Za-z0-9]/]) if (re.test(pw)) classes += 1;
		const set = (k, ok) => {
			items[k].className = `rule ${ok ? 'ok' : 'pending'}`;
			items[k].setAttribute('aria-label', `${ok ? t('auth.rule_met') : t('auth.rule_unmet')}: ${items[k].textContent}`);
		};
		set('len', chars >= policy.min_length);
		set('classes', classes >= policy.min_classes);
	};
	pwInput.addEventListener('input', update);
	update();
	return list;
}

async function invite(ctx) {
	if (ctx.parts[1]) {
		// the token came in the link's fragment (never sent to a server);
		// take it out of the address bar and history at once
		inviteToken = ctx.parts[1];
		history.replaceState(null, '', '#/invite');
	}
	const msg = h('div', { class: 'msg' });
	if (!inviteToken) {
		card(ctx, 'auth.title_invite', msg);
		say(msg, 'error', t('error.invalid_invitation'));
		return;
	}
	let info;
	try {
		info = await api('POST', '/api/v1/auth/invitation', { token: inviteToken });
		if (!ctx.current()) return;
	} catch (err) {
		if (!ctx.current()) return;
		card(ctx, 'auth.title_invite', msg,
			h('p', { class: 'small' }, h('a', { href: '#/signin' }, t('auth.back_to_signin'))));
		say(msg, 'error', errorText(err));
		return;
	}
	const pw = input({ type: 'password', autocomplete: 'new-password', required: true, 'data-testid': 'new-password' });
	const pw2 = input({ type: 'password', autocomplete: 'new-password', required: true, 'data-testid': 'new-password2' });
	const form = h('form', { novalidate: true },
		h('dl', { class: 'facts' },
			h('dt', {}, t('auth.contract_id')), h('dd', {}, info.contract_id),
			h('dt', {}, t('auth.login_id')), h('dd', {}, info.login_id)),
		field(t('auth.new_password'), pw),
		policyChecklist(info.password_policy, pw),
		field(t('auth.repeat_password'), pw2),
		msg,
		h('button', { type: 'submit', class: 'primary wide', 'data-testid': 'invite-submit' }, t('auth.set_password')));
	form.addEventListener('submit', async e => {
		e.preventDefault();
		say(msg, null, null);
		if (pw.value !== pw2.value) { say(msg, 'error', t('auth.mismatch')); return; }
		busy(form, true);
		try {
			await api('POST', '/api/v1/auth/accept-invitation', { token: inviteToken, password: pw.value });
			inviteToken = null;
			prefill = { contract_id: info.contract_id, login_id: info.login_id };
			card(ctx, 'auth.title_invite',
				h('div', { class: 'msg' }, h('div', { class: 'notice notice-ok', role: 'status' }, t('auth.invite_done'))),
				h('a', { href: '#/signin', class: 'button primary wide', 'data-testid': 'to-signin' }, t('auth.sign_in')));
		} catch (err) {
			busy(form, false);
			say(msg, 'error', errorText(err));
		}
	});
	card(ctx, 'auth.title_invite', h('p', {}, t('auth.invite_intro')), form);
	pw.focus();
}

export const publicViews = { signin, mfa, invite };
