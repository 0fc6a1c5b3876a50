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

let lastActivity = Date.now();
let onSignedOut = () => {};

export function setSignedOutHandler(fn) { onSignedOut = fn; }
export function lastActivityAt() { return lastActivity; }

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

async function answer(r, path) {
	let body = null;
	const type = r.headers.get('Content-Type') || '';
	if (type.startsWith('application/json')) {
		try { body = await r.json(); } catch (e) { body = null; }
	}
	if (r.ok) {
		if (!path.startsWith('/api/v1/auth/')) lastActivity = Date.now();
		return body;
	}
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
	try {
		r = await fetch(url, {
			method, credentials: 'same-origin', cache: 'no-store',
			headers: headers(method, body !== undefined && body !== null),
			body: body !== undefined && body !== null ? JSON.stringify(body) : undefined,
		});
	} catch (e) {
		throw new ApiError(0, 'network', 'network error');
	}
	return answer(r, path);
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
		x.onload = () => {
			let body = null;
			try { body = JSON.parse(x.responseText); } catch (e) { body = null; }
			if (x.status >= 200 && x.status < 300) {
				lastActivity = Date.now();
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
export function touch() { lastActivity = Date.now(); }
