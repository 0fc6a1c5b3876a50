// DOM helpers.  Every string reaches the page as a text node or an
// attribute value, never as markup: the console has no innerHTML.
import { t, lang } from './i18n.js';

// h('div', {class: 'x', onclick: fn}, 'text', child, [more]) -> element
export function h(tag, attrs, ...children) {
	const el = document.createElement(tag);
	for (const [k, v] of Object.entries(attrs || {})) {
		if (v === undefined || v === null || v === false) continue;
		if (k.startsWith('on') && typeof v === 'function') {
			el.addEventListener(k.slice(2), v);
		} else if (k === 'class') {
			el.className = v;
		} else if (k === 'value' || k === 'checked' || k === 'disabled' ||
		    k === 'selected' || k === 'hidden') {
			el[k] = v;
		} else {
			el.setAttribute(k, v === true ? '' : String(v));
		}
	}
	add(el, children);
	return el;
}

function add(el, children) {
	for (const c of children) {
		if (c === undefined || c === null || c === false) continue;
		if (Array.isArray(c)) add(el, c);
		else if (c instanceof Node) el.appendChild(c);
		else el.appendChild(document.createTextNode(String(c)));
	}
}

export function clear(el) {
	while (el.firstChild) el.removeChild(el.firstChild);
	return el;
}

// Replace el's content with children (null, false and arrays as in h()).
export function fill(el, ...children) {
	clear(el);
	add(el, children);
	return el;
}

// A long id shown short, whole in its tooltip and for screen readers.
export function shortId(id) {
	if (!id) return '';
	const s = id.length > 16 ? `${id.slice(0, 12)}…` : id;
	return h('span', { class: 'mono small', title: id, 'aria-label': id }, s);
}

let uid = 0;
export function nextId(prefix) {
	uid += 1;
	return `${prefix || 'f'}-${uid}`;
}

// A labelled form field: label, control and an optional hint below it.
export function field(label, control, hint) {
	if (!control.id) control.id = nextId('f');
	const hintEl = hint ? h('div', { class: 'hint', id: control.id + '-hint' }, hint) : null;
	if (hintEl) control.setAttribute('aria-describedby', hintEl.id);
	return h('div', { class: 'field' },
		h('label', { for: control.id }, label), control, hintEl);
}

export function input(attrs) {
	return h('input', Object.assign({ type: 'text' }, attrs));
}

export function select(options, value, attrs) {
	return h('select', attrs || {}, options.map(([v, label]) =>
		h('option', { value: v, selected: v === value }, label)));
}

export function button(label, onclick, cls, attrs) {
	return h('button', Object.assign({ type: 'button', class: cls || '', onclick }, attrs || {}), label);
}

// A message box; kind is info, ok, warn or error.  Errors are announced.
export function notice(kind, text) {
	return h('div', { class: `notice notice-${kind}`,
		role: kind === 'error' ? 'alert' : 'status' }, text);
}

// Set (or clear with null) the message shown in box.
export function say(box, kind, text) {
	clear(box);
	if (text) box.appendChild(notice(kind, text));
}

// A table: columns [{label, cell: row => node|string, class}], rows.
export function table(columns, rows, empty) {
	if (!rows.length)
		return h('p', { class: 'empty' }, empty || t('common.empty'));
	return h('div', { class: 'table-wrap' }, h('table', {},
		h('thead', {}, h('tr', {}, columns.map(c =>
			h('th', { scope: 'col', class: c.class || '' }, c.label)))),
		h('tbody', {}, rows.map(r => h('tr', {}, columns.map(c =>
			h('td', { class: c.class || '' }, c.cell(r))))))));
}

// The server sends RFC 3339 in the tenant's zone, with microseconds;
// shown in the tenant's zone and the console's language.
let zone;
export function setZone(z) { zone = z; }
export function fmtTime(s) {
	if (!s) return t('common.never');
	const d = new Date(String(s).replace(/(\.\d{3})\d+/, '$1'));
	if (isNaN(d)) return String(s);
	try {
		return new Intl.DateTimeFormat(lang() === 'ja' ? 'ja-JP' : 'en-GB', {
			timeZone: zone || undefined, year: 'numeric', month: '2-digit',
			day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit',
			hour12: false, timeZoneName: 'short' }).format(d);
	} catch (e) {
		return d.toISOString();
	}
}

export function fmtBytes(n) {
	if (n === null || n === undefined) return '';
	const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
	let v = Number(n), i = 0;
	while (v >= 1024 && i < units.length - 1) { v /= 1024; i += 1; }
	return `${i ? v.toFixed(1) : v} ${units[i]}`;
}

// A modal dialog (native <dialog>): resolves true when confirmed.
export function confirmDialog(title, text, okLabel, danger) {
	return new Promise(resolve => {
		const dlg = h('dialog', { class: 'dialog', 'aria-labelledby': 'dlg-title' });
		const done = v => { dlg.close(); dlg.remove(); resolve(v); };
		dlg.append(
			h('h2', { id: 'dlg-title' }, title),
			text ? h('p', {}, text) : null,
			h('div', { class: 'actions' },
				button(t('common.cancel'), () => done(false)),
				button(okLabel || t('common.ok'), () => done(true),
					danger ? 'danger' : 'primary')));
		dlg.addEventListener('cancel', e => { e.preventDefault(); done(false); });
		document.body.appendChild(dlg);
		dlg.showModal();
	});
}

// A modal form: build(body) fills it and returns an async submit()
// that resolves to a value to close with, or throws to stay open.
export function formDialog(title, build, okLabel) {
	return new Promise(resolve => {
		const dlg = h('dialog', { class: 'dialog', 'aria-labelledby': 'dlg-title' });
		const msg = h('div', { class: 'msg' });
		const body = h('div', { class: 'dialog-body' });
		const submit = build(body);
		const form = h('form', { novalidate: true }, h('h2', { id: 'dlg-title' }, title), body, msg,
			h('div', { class: 'actions' },
				button(t('common.cancel'), () => { dlg.close(); dlg.remove(); resolve(null); }),
				h('button', { type: 'submit', class: 'primary' }, okLabel || t('common.save'))));
		form.addEventListener('submit', async e => {
			e.preventDefault();
			say(msg, null, null);
			try {
				const v = await submit();
				dlg.close(); dlg.remove(); resolve(v === undefined ? true : v);
			} catch (err) {
				say(msg, 'error', errorText(err));
			}
		});
		dlg.addEventListener('cancel', e => { e.preventDefault(); dlg.close(); dlg.remove(); resolve(null); });
		dlg.appendChild(form);
		document.body.appendChild(dlg);
		dlg.showModal();
		const first = body.querySelector('input,select,textarea');
		if (first) first.focus();
	});
}

// The text for an error from api(): the catalogue's sentence for its
// code, or a generic one (server messages are not shown: they are not
// translated).
export function errorText(err) {
	if (err && err.code) {
		const key = `error.${err.code}`;
		const s = t(key, err.vars || {}, true);
		if (s !== null) return s;
	}
	return t('error.generic');
}
