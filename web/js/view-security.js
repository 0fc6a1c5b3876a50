// Administration: the tenant's security settings (password policy,
// lockout, session timeouts, two-step verification, IP allowlists).  The
// allowlists are checked against the caller's own address before saving,
// and the server refuses a change that would lock the caller out.
import { h, clear, field, input, select, say, notice, confirmDialog, errorText, nextId } from './dom.js';
import { t } from './i18n.js';
import { api } from './api.js';

// Append children, skipping null/false (Element.append would write "null").
function put(el, ...kids) {
	el.append(...kids.flat().filter(k => k !== null && k !== undefined && k !== false));
	return el;
}

// ---------------------------------------------------------------- CIDRs
// As the server reads them (src/core/cidr.c): IPv4 or IPv6, an optional
// /prefix (none = one address), host bits zero; IPv4 is kept as an
// IPv4-mapped IPv6 address so one comparison serves both.

function v4bytes(s) {
	const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
	if (!m) return null;
	const b = m.slice(1).map(Number);
	return b.every(x => x <= 255) ? b : null;
}

function v6bytes(s) {
	if (!/^[0-9A-Fa-f:.]+$/.test(s) || (s.match(/::/g) || []).length > 1) return null;
	let tail = [];
	let str = s;
	const lastColon = str.lastIndexOf(':');
	if (str.includes('.')) {            // embedded IPv4 at the end
		const v4 = v4bytes(str.slice(lastColon + 1));
		if (!v4) return null;
		tail = v4;
		str = str.slice(0, lastColon + 1) + '0:0';
	}
	const [head, rest] = str.includes('::') ? str.split('::') : [str, null];
	const part = x => (x === '' ? [] : x.split(':'));
	const hs = part(head), rs = rest === null ? [] : part(rest);
	const groups = rest === null ? hs : [...hs, ...Array(8 - hs.length - rs.length).fill('0'), ...rs];
	if (groups.length !== 8 || (rest !== null && hs.length + rs.length > 7)) return null;
	const out = [];
	for (const g of groups) {
		if (!/^[0-9A-Fa-f]{1,4}$/.test(g)) return null;
		const n = parseInt(g, 16);
		out.push(n >> 8, n & 255);
	}
	if (tail.length) out.splice(12, 4, ...tail);
	return out;
}

function addrBytes(s) {
	const v4 = v4bytes(s);
	if (v4) return [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255, ...v4];
	if (s.includes(':')) return v6bytes(s);
	return null;
}

export function parseCidr(text) {
	const s = text.trim();
	const [host, pre, extra] = s.split('/');
	if (extra !== undefined || !host) return null;
	const bytes = addrBytes(host);
	if (!bytes) return null;
	const v4 = !host.includes(':');
	let prefix = v4 ? 32 : 128;
	if (pre !== undefined) {
		if (!/^\d{1,3}$/.test(pre) || Number(pre) > prefix) return null;
		prefix = Number(pre);
	}
	prefix += v4 ? 96 : 0;
	for (let bit = prefix; bit < 128; bit++)
		if (bytes[bit >> 3] & (0x80 >> (bit & 7))) return null;
	return { bytes, prefix };
}

function contains(c, addr) {
	for (let bit = 0; bit < c.prefix; bit++) {
		const m = 0x80 >> (bit & 7);
		if ((c.bytes[bit >> 3] & m) !== (addr[bit >> 3] & m)) return false;
	}
	return true;
}

// An empty list admits everyone; otherwise some entry must hold the address.
function admits(list, addr) {
	return !list.length || list.some(c => contains(c, addr));
}

// ---------------------------------------------------------------- the form

const LISTS = ['console', 'api', 'all'];

function num(attrs) {
	return input(Object.assign({ type: 'number', inputmode: 'numeric', class: 'num-input' }, attrs));
}

function section(id, title, intro, ...content) {
	return h('section', { class: 'panel settings-panel', 'aria-labelledby': id },
		h('h2', { id }, title),
		intro ? h('p', { class: 'small' }, intro) : null,
		...content);
}

// Minutes for a number of seconds: whole where possible.
function minutes(sec) {
	const m = sec / 60;
	return Number.isInteger(m) ? String(m) : m.toFixed(2).replace(/0+$/, '');
}

async function render(ctx) {
	const { main } = ctx;
	const write = ctx.hasPerm('settings.write');
	const [s, sessions] = await Promise.all([
		api('GET', '/api/v1/settings/security'),
		api('GET', '/api/v1/me/sessions').catch(() => null)]);
	const cur = sessions && sessions.items.find(x => x.current);
	const myIp = cur ? cur.client_ip : null;
	const myAddr = myIp ? addrBytes(myIp) : null;
	const ro = !write;

	// password policy
	const minLen = num({ min: 8, max: 128, value: s.password_min_length, disabled: ro, 'data-testid': 'pw-min-length' });
	const minClasses = select([['3', t('security.classes_3')], ['4', t('security.classes_4')]],
		String(s.password_min_classes), { disabled: ro, 'data-testid': 'pw-min-classes' });
	// lockout
	const lockN = num({ min: 3, max: 20, value: s.lockout_threshold, disabled: ro, 'data-testid': 'lockout-threshold' });
	const lockMin = num({ min: 0, max: 1440, value: s.lockout_minutes, disabled: ro, 'data-testid': 'lockout-minutes' });
	// sessions
	const idle = num({ min: 1, max: 1440, step: 'any', value: minutes(s.idle_timeout_seconds), disabled: ro, 'data-testid': 'idle-minutes' });
	const life = num({ min: 1, max: 10080, step: 'any', value: minutes(s.absolute_lifetime_seconds), disabled: ro, 'data-testid': 'absolute-minutes' });
	// MFA
	const mfaName = nextId('mfa');
	const mfa = ['none', 'admins', 'all'].map(v => {
		const r = h('input', { type: 'radio', name: mfaName, id: nextId('mfa'), value: v,
			checked: s.mfa_required === v, disabled: ro, 'data-testid': `mfa-${v}` });
		return h('div', { class: 'check radio' }, r,
			h('label', { for: r.id }, h('span', {}, t(`security.mfa_${v}`)),
				h('span', { class: 'small block' }, t(`security.mfa_${v}_help`))));
	});
	// allowlists
	const areas = {};
	const listErr = {};
	const listFields = LISTS.map(k => {
		areas[k] = h('textarea', { rows: 4, spellcheck: 'false', autocomplete: 'off', class: 'mono cidrs',
			placeholder: k === 'api' ? '203.0.113.0/24' : '192.0.2.0/24', disabled: ro,
			'data-testid': `allow-${k}` });
		areas[k].value = (s.ip_allowlist[k] || []).join('\n');
		listErr[k] = h('div', { class: 'msg', 'data-testid': `allow-${k}-error` });
		return h('div', { class: 'allow-field' },
			field(t(`security.allow_${k}`), areas[k], t(`security.allow_${k}_help`)), listErr[k]);
	});
	const ipBox = h('div', { class: 'my-ip', 'data-testid': 'my-ip' },
		myIp ? [t('security.your_ip'), ' ', h('code', { 'data-testid': 'my-ip-value' }, myIp)]
			: t('security.your_ip_unknown'));
	const lockWarn = h('div', { class: 'msg', 'data-testid': 'lockout-warning' });

	// Parse every list: {lists, bad} where bad names the first wrong line.
	const readLists = () => {
		const lists = {}, bad = {};
		for (const k of LISTS) {
			lists[k] = [];
			const lines = areas[k].value.split(/\r?\n/).map(x => x.trim()).filter(Boolean);
			for (const line of lines) {
				const c = parseCidr(line);
				if (!c) { bad[k] = line; break; }
				lists[k].push({ text: line, c });
			}
		}
		return { lists, bad };
	};
	// Would the console still admit us?  (console and all lists)
	const locksOut = lists => myAddr &&
		!(admits(lists.console.map(x => x.c), myAddr) && admits(lists.all.map(x => x.c), myAddr));
	const check = () => {
		const { lists, bad } = readLists();
		for (const k of LISTS)
			say(listErr[k], bad[k] ? 'error' : null, bad[k] ? t('security.bad_cidr', { line: bad[k] }) : null);
		say(lockWarn, locksOut(lists) ? 'warn' : null,
			locksOut(lists) ? t('security.lockout_warning', { ip: myIp }) : null);
		return { lists, bad };
	};
	for (const k of LISTS) areas[k].addEventListener('input', check);

	const msg = h('div', { class: 'msg', 'data-testid': 'security-msg' });
	const saveBtn = h('button', { type: 'submit', class: 'primary', 'data-testid': 'security-save' }, t('common.save'));
	const form = h('form', { novalidate: true, class: 'settings-form' },
		section('h-pw', t('security.password_title'), t('security.password_intro'),
			h('div', { class: 'settings-grid' },
				field(t('security.min_length'), minLen, t('security.min_length_help')),
				field(t('security.min_classes'), minClasses, t('security.min_classes_help')))),
		section('h-lock', t('security.lockout_title'), t('security.lockout_intro'),
			h('div', { class: 'settings-grid' },
				field(t('security.lockout_threshold'), lockN, t('security.lockout_threshold_help')),
				field(t('security.lockout_minutes'), lockMin, t('security.lockout_minutes_help')))),
		section('h-sess', t('security.session_title'), t('security.session_intro'),
			h('div', { class: 'settings-grid' },
				field(t('security.idle_minutes'), idle, t('security.idle_help')),
				field(t('security.absolute_minutes'), life, t('security.absolute_help')))),
		section('h-mfa', t('security.mfa_title'), null,
			h('fieldset', { class: 'radios' }, h('legend', {}, t('security.mfa_legend')), mfa)),
		section('h-ip', t('security.ip_title'), t('security.ip_intro'),
			ipBox, h('div', { class: 'allow-grid' }, listFields), lockWarn),
		msg,
		write ? h('div', { class: 'actions save-actions' }, saveBtn) : null);

	const intIn = (el, lo, hi) => {
		const v = Number(el.value);
		return el.value.trim() !== '' && Number.isInteger(v) && v >= lo && v <= hi ? v : null;
	};
	form.addEventListener('submit', async e => {
		e.preventDefault();
		if (!write) return;
		say(msg, null, null);
		const { lists, bad } = check();
		if (Object.keys(bad).length) { say(msg, 'error', t('security.fix_lists')); return; }
		const body = {
			password_min_length: intIn(minLen, 8, 128),
			password_min_classes: Number(minClasses.value),
			lockout_threshold: intIn(lockN, 3, 20),
			lockout_minutes: intIn(lockMin, 0, 1440),
			idle_timeout_seconds: Math.round(Number(idle.value) * 60),
			absolute_lifetime_seconds: Math.round(Number(life.value) * 60),
			mfa_required: mfa.map(d => d.querySelector('input')).find(r => r.checked).value,
			ip_allowlist: Object.fromEntries(LISTS.map(k => [k, lists[k].map(x => x.text)])),
		};
		const bads = [];
		if (body.password_min_length === null) bads.push(t('security.min_length'));
		if (body.lockout_threshold === null) bads.push(t('security.lockout_threshold'));
		if (body.lockout_minutes === null) bads.push(t('security.lockout_minutes'));
		if (!(body.idle_timeout_seconds >= 1 && body.idle_timeout_seconds <= 86400)) bads.push(t('security.idle_minutes'));
		if (!(body.absolute_lifetime_seconds >= 1 && body.absolute_lifetime_seconds <= 604800)) bads.push(t('security.absolute_minutes'));
		if (bads.length) { say(msg, 'error', t('security.bad_values', { fields: bads.join(t('security.list_sep')) })); return; }
		if (body.absolute_lifetime_seconds < body.idle_timeout_seconds) {
			say(msg, 'error', t('security.absolute_lt_idle'));
			return;
		}
		if (locksOut(lists) && !await confirmDialog(t('security.lockout_confirm_title'),
			t('security.lockout_confirm_text', { ip: myIp }), t('security.save_anyway'), true)) return;
		saveBtn.disabled = true;
		try {
			await api('PUT', '/api/v1/settings/security', body);
			try { await ctx.refreshMe(); } catch (e2) { /* the idle timer catches up later */ }
			await ctx.route();
			const box = document.querySelector('[data-testid="security-msg"]');
			if (box) {
				say(box, 'ok', t('common.saved'));
				box.scrollIntoView({ block: 'nearest' });
			}
		} catch (err) {
			saveBtn.disabled = false;
			say(msg, 'error', errorText(err));
		}
	});

	put(main,
		h('div', { class: 'page-head' }, h('h1', {}, t('security.title'))),
		h('p', { class: 'lead' }, t('security.intro')),
		write ? null : notice('info', t('security.read_only')),
		form);
	check();
	if (!myIp) clear(lockWarn);
}

export const views = [
	{ path: 'security', nav: 'nav.security', section: 'admin', perm: 'settings.read', render },
];
