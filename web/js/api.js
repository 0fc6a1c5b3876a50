// The console's one door to the server: JSON over fetch, same origin,
// the session cookie (HttpOnly, set by the server) and the CSRF token
// from the sign-in answer on every request that changes something.
const CSRF_KEY = 'kura.csrf';

export class ApiError extends Error {
	constructor(status, code, message) {
		super(message || code);
		this.status = status;
		this.code = code;
	}
}

// The session's last use, as the server counts it: when a request was
// sent (the server notes the arrival), for every answer but 401.  Kept in
// localStorage too, so that all tabs of the one shared session count the
// same idle time and an idle tab does not sign out an active one.
const ACT_KEY = 'kura.activity';
let lastActivity = Date.now();
let onSignedOut = () => {};

export function setSignedOutHandler(fn) { onSignedOut = fn; }

export function noteActivity(at) {
	lastActivity = Math.max(lastActivity, at);
	try { localStorage.setItem(ACT_KEY, String(lastActivity)); } catch (e) { /* one tab only */ }
}

export function lastActivityAt() {
	let shared = 0;
	try { shared = Number(localStorage.getItem(ACT_KEY)) || 0; } catch (e) { /* none */ }
	return Math.max(lastActivity, shared);
}

// Sign-in steps and invitation pages are not uses of a session.
const NOT_USE = /^\/api\/v1\/auth\/(login|mfa|invitation|accept-invitation)$/;

export function setCsrf(token) {
	try {
		if (token) localStorage.setItem(CSRF_KEY, token);
		else localStorage.removeItem(CSRF_KEY);
	} catch (e) { /* storage refused: the session works until reload */ }
	memCsrf = token || null;
}
let memCsrf = null;
function csrf() {
	try { return localStorage.getItem(CSRF_KEY) || memCsrf; } catch (e) { return memCsrf; }
}
export function hasCsrf() { return !!csrf(); }

function headers(method, json) {
	const hd = {};
	if (json) hd['Content-Type'] = 'application/json';
	if (method !== 'GET' && method !== 'HEAD' && csrf()) hd['X-CSRF-Token'] = csrf();
	return hd;
}

async function answer(r, path, sent) {
	let body = null;
	const type = r.headers.get('Content-Type') || '';
	if (type.startsWith('application/json')) {
		try { body = await r.json(); } catch (e) { body = null; }
	}
	if (r.status !== 401 && !NOT_USE.test(path)) noteActivity(sent);
	if (r.ok) return body;
	const code = body && body.error ? body.error.code : `http_${r.status}`;
	const msg = body && body.error ? body.error.message : r.statusText;
	const err = new ApiError(r.status, code, msg);
	const retry = r.headers.get('Retry-After');
	if (retry) err.vars = { seconds: retry };
	if (r.status === 401 && !path.startsWith('/api/v1/auth/'))
		onSignedOut(code);
	throw err;
}

// api('GET', '/api/v1/users', null, {limit: 50}) -> parsed JSON body
export async function api(method, path, body, query) {
	let url = path;
	if (query) {
		const q = new URLSearchParams();
		for (const [k, v] of Object.entries(query))
			if (v !== undefined && v !== null && v !== '') q.set(k, v);
		const s = q.toString();
		if (s) url += (url.includes('?') ? '&' : '?') + s;
	}
	let r;
	const sent = Date.now();
	try {
		r = await fetch(url, {
			method, credentials: 'same-origin', cache: 'no-store',
			headers: headers(method, body !== undefined && body !== null),
			body: body !== undefined && body !== null ? JSON.stringify(body) : undefined,
		});
	} catch (e) {
		throw new ApiError(0, 'network', 'network error');
	}
	return answer(r, path, sent);
}

// Upload a file's bytes with progress: onProgress(loaded, total).
export function upload(path, file, onProgress) {
	return new Promise((resolve, reject) => {
		const x = new XMLHttpRequest();
		x.open('PUT', path);
		x.withCredentials = true;
		x.setRequestHeader('Content-Type', 'application/octet-stream');
		if (csrf()) x.setRequestHeader('X-CSRF-Token', csrf());
		x.upload.onprogress = e => onProgress(e.loaded, e.lengthComputable ? e.total : file.size);
		x.onerror = () => reject(new ApiError(0, 'network', 'network error'));
		const sent = Date.now();
		x.onload = () => {
			if (x.status !== 401) noteActivity(sent);
			let body = null;
			try { body = JSON.parse(x.responseText); } catch (e) { body = null; }
			if (x.status >= 200 && x.status < 300) {
				resolve(body);
				return;
			}
			const code = body && body.error ? body.error.code : `http_${x.status}`;
			if (x.status === 401) onSignedOut(code);
			reject(new ApiError(x.status, code, body && body.error ? body.error.message : ''));
		};
		x.send(file);
	});
}

// Note a request made outside api() (a download link) as activity.
export function touch() { noteActivity(Date.now()); }

// Download an export (a few MiB at most) through fetch, so that an error
// answer (an expired session, export_too_large) is shown in the page
// instead of becoming a broken download.  Saves it under the server's
// file name.
export async function download(path, fallbackName) {
	const sent = Date.now();
	let r;
	try {
		r = await fetch(path, { credentials: 'same-origin', cache: 'no-store' });
	} catch (e) {
		throw new ApiError(0, 'network', 'network error');
	}
	if (!r.ok) return answer(r, path, sent);
	noteActivity(sent);
	const blob = await r.blob();
	const m = /filename="([^"]+)"/.exec(r.headers.get('Content-Disposition') || '');
	const a = document.createElement('a');
	a.href = URL.createObjectURL(blob);
	a.download = m ? m[1] : fallbackName;
	document.body.appendChild(a);
	a.click();
	a.remove();
	setTimeout(() => URL.revokeObjectURL(a.href), 10000);
}
