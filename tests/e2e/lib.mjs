// Shared harness of the console tests: a real kura on loopback (through
// kura_server.py), Debian's Chromium driven by playwright-core, TOTP codes
// from oathtool, direct API calls for set-up, and screenshots.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import https from 'node:https';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const ROOT = join(here, '..', '..');
export const OUT = process.env.E2E_OUT || join(ROOT, 'test-output', 'e2e');
export const SHOTS = join(OUT, 'screens');
mkdirSync(SHOTS, { recursive: true });

export const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu',
	'--disable-background-networking'];

// Start kura; resolves {info, cmd(obj), stop()}.
export async function startKura() {
	const base = mkdtempSync(join(tmpdir(), 'kura-e2e-'));
	const proc = spawn('/usr/bin/python3', [join(here, 'kura_server.py'), base], {
		stdio: ['pipe', 'pipe', 'inherit'],
		env: { ...process.env, KURA_BIN: process.env.KURA_BIN || join(ROOT, 'build', 'kura') },
	});
	const lines = createInterface({ input: proc.stdout });
	const waiting = [];
	const queued = [];
	lines.on('line', l => {
		const v = JSON.parse(l);
		if (waiting.length) waiting.shift()(v); else queued.push(v);
	});
	const next = () => new Promise((resolve, reject) => {
		if (queued.length) { resolve(queued.shift()); return; }
		const timer = setTimeout(() => reject(new Error('kura_server.py did not answer')), 60000);
		waiting.push(v => { clearTimeout(timer); resolve(v); });
	});
	const info = await next();
	return {
		info,
		async cmd(obj) { proc.stdin.write(JSON.stringify(obj) + '\n'); return next(); },
		async stop() {
			proc.stdin.end();
			await new Promise(r => proc.once('exit', r));
			rmSync(base, { recursive: true, force: true });
		},
	};
}

// A direct API client for set-up (not what is under test): signs in with
// a password (no MFA) and keeps the cookie and CSRF token.
export class Api {
	constructor(base) { this.base = base; this.cookie = null; this.csrf = null; }
	request(method, path, body) {
		const url = new URL(path, this.base);
		const data = body === undefined ? null : Buffer.from(JSON.stringify(body));
		const headers = {};
		if (data) { headers['Content-Type'] = 'application/json'; headers['Content-Length'] = data.length; }
		if (this.cookie) headers.Cookie = this.cookie;
		if (this.csrf && method !== 'GET') headers['X-CSRF-Token'] = this.csrf;
		return new Promise((resolve, reject) => {
			const req = https.request(url, { method, headers, rejectUnauthorized: false }, res => {
				const chunks = [];
				res.on('data', c => chunks.push(c));
				res.on('end', () => {
					const text = Buffer.concat(chunks).toString();
					for (const c of res.headers['set-cookie'] || [])
						if (c.startsWith('kura_session=')) this.cookie = c.split(';')[0];
					let json = null;
					try { json = JSON.parse(text); } catch (e) { json = null; }
					resolve({ status: res.statusCode, json, text, headers: res.headers });
				});
			});
			req.on('error', reject);
			if (data) req.write(data);
			req.end();
		});
	}
	async login(contract, login, password) {
		const r = await this.request('POST', '/api/v1/auth/login',
			{ contract_id: contract, login_id: login, password });
		if (r.status !== 200 || r.json.mfa_required) throw new Error(`login ${login}: ${r.status} ${r.text}`);
		this.csrf = r.json.csrf_token;
		return r.json;
	}
}

export function strongPassword() {
	const hex = n => [...crypto.getRandomValues(new Uint8Array(n))]
		.map(b => b.toString(16).padStart(2, '0')).join('');
	return `Kq7!${hex(6)}Zx#${hex(3).toUpperCase()}m`;
}

export function unique(prefix) {
	return prefix + [...crypto.getRandomValues(new Uint8Array(4))]
		.map(b => b.toString(16).padStart(2, '0')).join('');
}

// The current TOTP code for a base32 secret, from oathtool (the real peer).
// at: the instant (ms) whose step is meant, default now.
export function totp(secret, offsetSteps = 0, at = Date.now()) {
	const args = ['--totp', '-b', secret];
	if (offsetSteps || at !== undefined) args.push('-N', new Date(at + offsetSteps * 30000).toISOString().replace('T', ' ').slice(0, 19) + ' UTC');
	return execFileSync('oathtool', args).toString().trim();
}

export async function launch() {
	return chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_FLAGS,
		headless: true });
}

// A fresh browser context and page in the given language.  Console errors
// (CSP violations included) are collected in page.kuraErrors.
export async function newPage(browser, base, lang) {
	const ctx = await browser.newContext({ ignoreHTTPSErrors: true, baseURL: base,
		locale: lang === 'ja' ? 'ja-JP' : 'en-GB', viewport: { width: 1280, height: 860 } });
	const page = await ctx.newPage();
	page.kuraErrors = [];
	page.on('console', m => { if (m.type() === 'error') page.kuraErrors.push(m.text()); });
	page.on('pageerror', e => page.kuraErrors.push(String(e)));
	await page.addInitScript(l => {
		try { if (!localStorage.getItem('kura.lang')) localStorage.setItem('kura.lang', l); } catch (e) { /* none */ }
	}, lang);
	return page;
}

// Sign in through the console's form.
export async function signIn(page, contract, login, password) {
	await page.goto('/console/#/signin');
	await page.getByTestId('contract').fill(contract);
	await page.getByTestId('login').fill(login);
	await page.getByTestId('password').fill(password);
	await page.getByTestId('signin-submit').click();
}

// Wait until the console has drawn the screen for the current address
// with its first data (the router sets data-routed to the address then,
// and clears it when it starts on a new one).
export async function routed(page) {
	await page.waitForFunction(() => document.documentElement.dataset.routed === location.hash);
}

// Wait until the console has drawn the screen for the address matching
// `url` (a RegExp or predicate, as for page.waitForURL) with its first
// data: the address changes before the old screen is replaced, so
// elements found right after waitForURL may belong to the old screen.
// `url` must not match the address the page was at before the action.
export async function settled(page, url) {
	await page.waitForURL(url);
	await routed(page);
}

// Go to a console address ('audit', 'projects/prj_1/files?dir=…') and
// wait for its screen.  A hash change does not reload the page: until the
// router has drawn the new screen, the old one (with its h1, rows and
// buttons) is still there.  An address the console redirects (a pending
// password change) settles on the address it redirects to.
export async function open(page, path) {
	await page.goto(`/console/#/${path}`);
	await routed(page);
}

// Missing catalogue keys the console recorded (should be none).
export async function missingKeys(page) {
	return page.evaluate(async () => {
		const m = await import('/console/js/i18n.js');
		return [...m.missingKeys];
	});
}

export async function shot(page, name) {
	await page.evaluate(() => window.scrollTo(0, 0));
	await page.waitForTimeout(150);
	await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

// In the console's audit log viewer: filter by an action group ('file.*')
// and wait for a row naming the action (its catalogue label); returns
// the rows' text.
export async function auditFind(page, group, label) {
	await open(page, 'audit');
	const table = page.getByTestId('audit-table');
	await page.waitForSelector('[data-testid=audit-table][data-state=ready]');
	await page.getByTestId('f-action').selectOption(group);
	await page.getByTestId('audit-apply').click();
	await page.waitForSelector('[data-testid=audit-table][data-state=ready]');
	const rows = table.locator('tbody tr');
	// newest first, 50 a page: load more pages until the action shows
	for (let i = 0; i < 20 && !(await rows.filter({ hasText: label }).count()); i++) {
		const more = page.getByTestId('audit-more');
		if (!(await more.count())) break;
		await more.click();
		await page.waitForSelector('[data-testid=audit-table][data-state=ready]');
	}
	await rows.filter({ hasText: label }).first().waitFor();
	return rows.allTextContents();
}
