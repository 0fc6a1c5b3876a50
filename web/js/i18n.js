// Message catalogues: web/i18n/<area>.json, each {"en": {...}, "ja": {...}}.
// Every string the console shows comes from here; a key missing from the
// catalogue shows as the key itself and is recorded in missingKeys, which
// the end-to-end tests read.
export const AREAS = ['common', 'auth', 'home', 'users', 'security',
	'account', 'audit', 'workspace'];
export const LANGS = ['ja', 'en'];

const cat = { en: {}, ja: {} };
let current = 'en';
export const missingKeys = new Set();

export async function loadCatalogues() {
	const parts = await Promise.all(AREAS.map(async a => {
		const r = await fetch(`i18n/${a}.json`, { credentials: 'same-origin' });
		if (!r.ok) throw new Error(`catalogue ${a}: ${r.status}`);
		return r.json();
	}));
	for (const p of parts)
		for (const l of LANGS) Object.assign(cat[l], p[l] || {});
	let saved = null;
	try { saved = localStorage.getItem('kura.lang'); } catch (e) { /* private mode */ }
	if (LANGS.includes(saved)) current = saved;
	else current = (navigator.language || '').toLowerCase().startsWith('ja') ? 'ja' : 'en';
	document.documentElement.lang = current;
}

export function lang() { return current; }

export function setLang(l) {
	if (!LANGS.includes(l)) return;
	current = l;
	document.documentElement.lang = l;
	try { localStorage.setItem('kura.lang', l); } catch (e) { /* private mode */ }
}

// t('users.count', {n: 3}) -> the current language's string with {n}
// replaced.  optional: return null instead of the key when missing.
export function t(key, vars, optional) {
	let s = cat[current][key];
	if (s === undefined) {
		if (optional) return null;
		missingKeys.add(`${current}:${key}`);
		return key;
	}
	if (vars)
		s = s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
	return s;
}

export function catalogue(l) { return cat[l]; }
