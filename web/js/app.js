// The console: boot, the signed-in state, the hash router, the layout
// and the idle-timeout warning.  Screens live in view-*.js; each exports
// `views`: [{path, nav, section, perm, render(ctx)}].
import { h, fill, button, setZone, say } from './dom.js';
import { t, lang, setLang, loadCatalogues } from './i18n.js';
import { api, setCsrf, hasCsrf, setSignedOutHandler, lastActivityAt } from './api.js';
import * as auth from './view-auth.js';
import * as home from './view-home.js';
import * as users from './view-users.js';
import * as security from './view-security.js';
import * as account from './view-account.js';
import * as audit from './view-audit.js';
import * as workspace from './view-workspace.js';

const VIEWS = [home, workspace, users, security, audit, account]
	.flatMap(m => m.views);
const SECTIONS = ['work', 'admin', 'account'];

const state = { me: null, flash: null };
const root = document.getElementById('app');

function hasPerm(p) {
	return !p || (state.me && state.me.permissions.includes(p));
}

export function navigate(path) {
	if (location.hash === `#/${path}`) route();
	else location.hash = `#/${path}`;
}

// Sign-in finished (login or MFA): keep the CSRF token, load /me.
async function signedIn(res) {
	setCsrf(res.csrf_token);
	await loadMe();
	// back to the screen a link asked for before sign-in
	let after = null;
	try { after = sessionStorage.getItem('kura.after'); sessionStorage.removeItem('kura.after'); } catch (e) { /* none */ }
	navigate(setupPath() || after || 'home');
}

async function loadMe() {
	state.me = await api('GET', '/api/v1/me');
	setZone(state.me.tenant.timezone);
}

// A pending password change or MFA enrolment confines the user to their
// account page until done (the server refuses everything else anyway).
function setupPath() {
	const me = state.me;
	if (!me) return null;
	if (me.must_change_password || (me.mfa_required_by_tenant && !me.mfa_enabled))
		return 'account';
	return null;
}

function signedOut(reason) {
	// dialogs live outside #app: close them all, so nothing of the session
	// (an invitation link, a form) stays on an unattended screen
	for (const d of document.querySelectorAll('dialog')) {
		d.dispatchEvent(new Event('cancel'));
		if (d.open) d.close();
		d.remove();
	}
	if (!state.me) return;
	state.me = null;
	setCsrf(null);
	state.flash = reason;
	navigate('signin');
}

async function signOut() {
	try { await api('POST', '/api/v1/auth/logout'); } catch (e) { /* ended already */ }
	signedOut('signed_out');
}

function langSwitch() {
	const other = lang() === 'ja' ? 'en' : 'ja';
	return button(t(`common.lang_${other}`), () => { setLang(other); route(); },
		'link lang-switch', { lang: other, 'data-testid': 'lang-switch' });
}

function layout(active) {
	const me = state.me;
	const setup = setupPath();
	const nav = h('nav', { class: 'side', 'aria-label': t('nav.label') },
		SECTIONS.map(sec => {
			const items = VIEWS.filter(v => v.nav && v.section === sec && hasPerm(v.perm) &&
				(!setup || v.path === setup));
			if (!items.length) return null;
			return h('div', { class: 'nav-section' },
				h('div', { class: 'nav-title' }, t(`nav.section_${sec}`)),
				h('ul', {}, items.map(v => h('li', {},
					h('a', { href: `#/${v.path}`, class: v === active ? 'active' : '',
						'aria-current': v === active ? 'page' : null }, t(v.nav))))));
		}));
	const main = h('main', { id: 'main', tabindex: '-1' });
	const top = h('header', { class: 'top' },
		h('a', { class: 'skip', href: '#main', onclick: e => { e.preventDefault(); main.focus(); } }, t('nav.skip')),
		h('div', { class: 'brand' }, 'kura'),
		h('div', { class: 'tenant' }, me.tenant.name || me.tenant.contract_id),
		h('div', { class: 'spacer' }),
		h('span', { class: 'who' }, me.display_name || me.login_id),
		langSwitch(),
		button(t('nav.sign_out'), signOut, 'link', { 'data-testid': 'sign-out' }));
	const idle = h('div', { id: 'idle-warning', class: 'idle-warning', hidden: true, role: 'alert' });
	fill(root, top, idle, h('div', { class: 'body' }, nav, main));
	return main;
}

// '#/users/usr_1?x=1' -> {path: 'users', params: ['usr_1'], query}
function parseHash() {
	const raw = location.hash.replace(/^#\/?/, '');
	const [p, q] = raw.split('?');
	const dec = x => { try { return decodeURIComponent(x); } catch (e) { return x; } };
	const parts = p.split('/').filter(Boolean).map(dec);
	return { parts, query: new URLSearchParams(q || '') };
}

let routing = 0;
async function route() {
	const n = ++routing;
	// tests wait for data-routed to equal location.hash: the screen for
	// this address has been drawn with its first data
	delete document.documentElement.dataset.routed;
	const { parts, query } = parseHash();
	const first = parts[0] || '';
	document.title = 'kura';
	if (auth.publicViews[first]) {
		if (first === 'signin' && state.me) { navigate('home'); return; }
		const flash = state.flash;
		state.flash = null;
		await auth.publicViews[first]({ root, parts, query, flash, signedIn, langSwitch, navigate,
			current: () => n === routing });
		if (n === routing) document.documentElement.dataset.routed = location.hash;
		return;
	}
	if (!state.me) {
		try {
			if (!hasCsrf()) throw new Error('no session');
			await loadMe();
		} catch (e) {
			if (n !== routing) return;
			const want = location.hash.replace(/^#\/?/, '');
			if (want && VIEWS.some(v => v.path === want.split(/[/?]/)[0])) {
				try { sessionStorage.setItem('kura.after', want); } catch (e2) { /* none */ }
			}
			navigate('signin');
			return;
		}
	}
	if (n !== routing) return;
	const setup = setupPath();
	let view = VIEWS.find(v => v.path === first);
	if (!view || (setup && view.path !== setup)) {
		navigate(setup || 'home');
		return;
	}
	if (!hasPerm(view.perm)) view = VIEWS.find(v => v.path === 'home');
	const main = layout(view);
	document.title = `${t(view.nav || view.title)} — kura`;
	try {
		await view.render({ main, me: state.me, params: parts.slice(1), query,
			navigate, hasPerm, refreshMe: loadMe, route, signedOut });
		// a new screen: move the focus to its heading (screen readers
		// announce it; keyboard users start from the top of the content)
		const h1 = n === routing && !main.contains(document.activeElement) && main.querySelector('h1');
		if (h1) { h1.setAttribute('tabindex', '-1'); h1.focus({ preventScroll: true }); }
	} catch (e) {
		if (n !== routing || !state.me) return;
		const box = h('div');
		main.appendChild(box);
		const { errorText } = await import('./dom.js');
		say(box, 'error', errorText(e));
	}
	if (n === routing) document.documentElement.dataset.routed = location.hash;
}

// Idle timeout: the server ends a session unused for the tenant's idle
// timeout.  A minute ahead the console warns; at the end it signs out and
// returns to sign-in.  The server notes use at most every min(15 s,
// idle/10), so the console ends its count that much early.
function idleTick() {
	const me = state.me;
	const box = document.getElementById('idle-warning');
	if (!me || !me.idle_timeout_seconds || !box) return;
	const idle = me.idle_timeout_seconds * 1000;
	const slack = Math.min(15000, idle / 10);
	const left = lastActivityAt() + idle - slack - Date.now();
	if (left <= 0) {
		// end the session on the server too (the request takes the CSRF
		// token before signedOut forgets it); its answer does not matter
		api('POST', '/api/v1/auth/logout').catch(() => {});
		box.hidden = true;
		signedOut('idle');
		return;
	}
	if (left <= 60000) {
		const secs = Math.ceil(left / 1000);
		if (box.hidden) {
			// announced once (role=alert); the countdown itself is not
			const stay = button(t('idle.stay'), async () => {
				try { await api('GET', '/api/v1/me'); } catch (e) { return; }
				box.hidden = true;
			}, 'primary', { 'data-testid': 'idle-stay' });
			fill(box, h('span', { class: 'sr-only' }, t('idle.warning_short')),
				h('span', { class: 'idle-text', 'aria-hidden': 'true' }, t('idle.warning', { seconds: secs })),
				stay);
			box.hidden = false;
			const a = document.activeElement;
			if (!a || !/^(INPUT|TEXTAREA|SELECT)$/.test(a.tagName)) stay.focus();
		} else {
			box.querySelector('.idle-text').textContent = t('idle.warning', { seconds: secs });
		}
	} else if (!box.hidden) {
		box.hidden = true;
	}
}

async function boot() {
	try {
		await loadCatalogues();
	} catch (e) {
		root.textContent = 'kura: the console could not load its messages. Reload the page.';
		return;
	}
	setSignedOutHandler(code => signedOut(code === 'session_expired' ? 'expired' : 'signed_out'));
	window.addEventListener('hashchange', route);
	// another tab signed in or out: this tab's picture of who is signed in
	// is stale (the cookie is shared), so start again from the server's
	window.addEventListener('storage', e => { if (e.key === 'kura.csrf') location.reload(); });
	setInterval(idleTick, 1000);
	await route();
}

boot();
