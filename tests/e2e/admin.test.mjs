// Console administration screens (IAM-1 users and invitations, IAM-2
// roles, IAM-4 access review, IAM-5/7/8/10 security settings, IAM-7/IAM-9
// lockout with one generic message) driven through Chromium against a real
// kura on loopback.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startKura, launch, newPage, signIn, missingKeys, shot, Api, strongPassword, unique, auditFind, open, settled } from './lib.mjs';

let kura, browser, base, info, admin;
const invited = { login: unique('u'), password: strongPassword(), id: null };
let customRole = null;

// Console errors apart from the 4xx answers some steps expect.
function unexpected(page) {
	return page.kuraErrors.filter(e => !/Failed to load resource: the server responded with a status of 4\d\d/.test(e));
}

async function adminPage(lang) {
	const page = await newPage(browser, base, lang);
	await signIn(page, info.contract_id, info.admin_login, info.admin_password);
	await settled(page, /#\/home$/);
	return page;
}

// (not just the first main h1: the old screen's is there until the
// router has drawn the new one)
async function go(page, path) {
	await open(page, path);
}

// The dialog now open, and its submit / confirm button.
const dialog = page => page.locator('dialog[open]');
const submit = page => dialog(page).locator('button[type=submit]');

// Read the catalogue text the console shows for a key.
async function text(page, key) {
	return page.evaluate(async k => (await import('/console/js/i18n.js')).t(k), key);
}

async function user(login) {
	const r = await admin.request('GET', '/api/v1/users?limit=200');
	return r.json.items.find(u => u.login_id === login);
}

before(async () => {
	kura = await startKura();
	info = kura.info;
	base = info.base_url;
	browser = await launch();
	admin = new Api(base);
	await admin.login(info.contract_id, info.admin_login, info.admin_password);
});

after(async () => {
	if (browser) await browser.close();
	if (kura) await kura.stop();
});

test('IAM-1: invite a user in the console, accept the link signed out, sign in as them', async () => {
	const page = await adminPage('en');
	await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
	await go(page, 'users');
	await page.getByTestId(`user-row-${info.admin_login}`).waitFor();
	assert.match(await page.getByTestId('seats-used').textContent(), /^1 \/ 10$/);
	await page.getByTestId('invite-open').click();
	await page.getByTestId('invite-login').fill(invited.login);
	await page.getByTestId('invite-email').fill(`${invited.login}@example.com`);
	await page.getByTestId('invite-name').fill('Hanako Yamada');
	await submit(page).click();
	const link = await page.getByTestId('invite-link').inputValue();
	assert.match(link, new RegExp(`^${base.replace(/\./g, '\\.')}/console/#/invite/[^/]+$`));
	assert.match(await page.getByTestId('invite-link-dialog').textContent(), /Valid for 7 days/);
	await page.getByTestId('invite-copy').click();
	await assert.doesNotReject(page.getByText('Copied.').waitFor());
	assert.equal(await page.evaluate(() => navigator.clipboard.readText()), link);
	await page.getByTestId('invite-link-close').click();
	await page.getByTestId(`user-row-${invited.login}`).waitFor();
	assert.equal((await page.getByTestId(`user-row-${invited.login}`).getByTestId('status-badge').textContent()), 'Invited');
	assert.match(await page.getByTestId('seats-used').textContent(), /^2 \/ 10$/);
	const u = await user(invited.login);
	assert.equal(u.status, 'invited');
	invited.id = u.id;

	// a fresh, signed-out browser opens the link
	const guest = await newPage(browser, base, 'en');
	await guest.goto(link);
	const pw = guest.getByTestId('new-password');
	await pw.waitFor();
	const firstRule = guest.locator('[data-testid=policy] li').first();
	assert.equal(await firstRule.getAttribute('class'), 'rule pending');
	await pw.pressSequentially(invited.password.slice(0, 4));
	assert.equal(await firstRule.getAttribute('class'), 'rule pending');
	await pw.fill(invited.password);
	assert.equal(await firstRule.getAttribute('class'), 'rule ok');
	assert.equal(await guest.locator('[data-testid=policy] li.ok').count(), 2);
	await guest.getByTestId('new-password2').fill(invited.password);
	await guest.getByTestId('invite-submit').click();
	await guest.getByTestId('to-signin').click();
	await guest.getByTestId('password').fill(invited.password);
	assert.equal(await guest.getByTestId('login').inputValue(), invited.login);
	await guest.getByTestId('signin-submit').click();
	// the sign-in card has a main h1 too, until Home is drawn
	await settled(guest, /#\/home$/);
	assert.match(await guest.locator('main h1').textContent(), /Hanako Yamada/);
	assert.equal((await admin.request('GET', `/api/v1/users/${invited.id}`)).json.status, 'active');
	assert.deepEqual(unexpected(guest), []);
	assert.deepEqual(unexpected(page), []);
	await guest.context().close();
	await page.context().close();
});

test('IAM-2: create a custom role in the role editor and give it to the user', async () => {
	const page = await adminPage('en');
	await go(page, 'roles');
	await page.getByTestId('role-row-tenant_admin').waitFor();
	await page.getByTestId('role-new').click();
	await page.getByTestId('role-name').fill('Auditors');
	await page.getByTestId('role-labels').fill('audit, q1');
	// every permission of the catalogue, described in English, grouped
	assert.match(await dialog(page).textContent(), /See users and their roles/);
	assert.equal(await dialog(page).locator('fieldset.perm-group').count(), 4);
	for (const p of ['users.read', 'roles.read', 'access_review.read', 'settings.read', 'audit.read'])
		await page.getByTestId(`perm-${p}`).check();
	await submit(page).click();
	await page.getByTestId('role-row-Auditors').waitFor();
	const roles = (await admin.request('GET', '/api/v1/roles')).json.items;
	customRole = roles.find(r => r.name === 'Auditors');
	assert.deepEqual([...customRole.permissions].sort(),
		['access_review.read', 'audit.read', 'roles.read', 'settings.read', 'users.read']);
	assert.deepEqual(customRole.labels, ['audit', 'q1']);

	// give it to the invited user, in place of member
	await go(page, 'users');
	const row = page.getByTestId(`user-row-${invited.login}`);
	await row.getByTestId('user-edit').click();
	await page.getByTestId('role-member').uncheck();
	await page.getByTestId(`role-${customRole.id}`).check();
	await page.getByTestId('edit-name').fill('Hanako Yamada (audit)');
	await submit(page).click();
	await page.getByText(`${invited.login} was updated.`).waitFor();
	assert.match(await row.textContent(), /Auditors/);
	const u = (await admin.request('GET', `/api/v1/users/${invited.id}`)).json;
	assert.deepEqual(u.roles, [customRole.id]);
	assert.equal(u.display_name, 'Hanako Yamada (audit)');

	// the built-in role cannot be deleted, the custom one only when unused
	await go(page, 'roles');
	await page.getByTestId('role-row-tenant_admin').waitFor();
	assert.equal(await page.getByTestId('role-row-tenant_admin').getByTestId('role-delete').count(), 0);
	await page.getByTestId('role-row-Auditors').getByTestId('role-delete').click();
	await dialog(page).locator('button.danger').click();
	await page.getByTestId('roles-msg').locator('.notice-error').waitFor();
	assert.equal(await page.getByTestId('roles-msg').textContent(), await text(page, 'error.role_in_use'));
	assert.ok((await admin.request('GET', '/api/v1/roles')).json.items.some(r => r.id === customRole.id));
	assert.deepEqual(unexpected(page), []);
	await page.context().close();
});

test('IAM-2: a user without write permissions sees users, roles and settings read-only', async () => {
	for (const lang of ['en', 'ja']) {
		const page = await newPage(browser, base, lang);
		await signIn(page, info.contract_id, invited.login, invited.password);
		await settled(page, /#\/home$/);
		const navText = await page.locator('nav.side').textContent();
		for (const k of ['nav.users', 'nav.roles', 'nav.access_review', 'nav.security'])
			assert.ok(navText.includes(await text(page, k)), k);
		await go(page, 'users');
		await page.getByTestId(`user-row-${info.admin_login}`).waitFor();
		assert.equal(await page.getByTestId('invite-open').count(), 0);
		assert.equal(await page.getByTestId('user-edit').count(), 0);
		await page.getByText(await text(page, 'users.read_only')).waitFor();
		await shot(page, `admin-users-readonly-${lang}`);
		await page.getByTestId(`user-row-${info.admin_login}`).getByTestId('user-link').click();
		await page.getByTestId('user-msg').waitFor({ state: 'attached' });
		assert.equal(await page.getByTestId('action-disable').count(), 0);
		assert.equal(await page.getByTestId('detail-edit').count(), 0);
		await go(page, 'roles');
		await page.getByTestId('role-row-Auditors').waitFor();
		assert.equal(await page.getByTestId('role-new').count(), 0);
		assert.equal(await page.getByTestId('role-edit').count(), 0);
		await go(page, 'security');
		assert.ok(await page.getByTestId('pw-min-length').isDisabled());
		assert.ok(await page.getByTestId('allow-console').isDisabled());
		assert.equal(await page.getByTestId('security-save').count(), 0);
		await shot(page, `admin-security-readonly-${lang}`);
		assert.deepEqual(await missingKeys(page), [], lang);
		assert.deepEqual(unexpected(page), []);
		await page.context().close();
	}
});

test('IAM-7/IAM-9: lockout in the console shows one generic message; the admin sees the badge and unlocks', async () => {
	const settings = (await admin.request('GET', '/api/v1/settings/security')).json;
	const n = settings.lockout_threshold;
	const page = await newPage(browser, base, 'en');
	const messages = [];
	const attempt = async password => {
		await page.getByTestId('password').fill(password);
		await page.getByTestId('signin-submit').click();
		await page.waitForFunction(() => !document.querySelector('[data-testid=signin-submit]').disabled &&
			document.querySelector('.msg .notice-error'));
		messages.push(await page.locator('.msg .notice-error').textContent());
	};
	await signIn(page, info.contract_id, invited.login, 'Wrong-password-1!');
	await page.waitForFunction(() => document.querySelector('.msg .notice-error'));
	messages.push(await page.locator('.msg .notice-error').textContent());
	for (let i = 1; i < n; i++) await attempt(`Wrong-password-${i + 1}!`);
	await attempt(invited.password);      // the right password, now locked
	assert.equal(messages.length, n + 1);
	assert.equal(new Set(messages).size, 1, messages.join(' | '));
	assert.equal(messages[0], await text(page, 'auth.failed'));
	assert.match(page.url(), /#\/signin$/);
	await shot(page, 'admin-lockout-signin-en');
	await page.context().close();

	const adm = await adminPage('en');
	await go(adm, 'users');
	const row = adm.getByTestId(`user-row-${invited.login}`);
	await row.getByTestId('locked-badge').waitFor();
	assert.equal(await row.getByTestId('locked-badge').textContent(), 'Locked');
	assert.equal((await admin.request('GET', `/api/v1/users/${invited.id}`)).json.locked, true);
	await row.getByTestId('user-unlock').click();
	await adm.getByText(`${invited.login} was unlocked.`).waitFor();
	assert.equal(await row.getByTestId('locked-badge').count(), 0);
	assert.equal((await admin.request('GET', `/api/v1/users/${invited.id}`)).json.locked, false);
	// and the user gets in again
	const again = new Api(base);
	await again.login(info.contract_id, invited.login, invited.password);
	assert.deepEqual(unexpected(adm), []);
	await adm.context().close();
});

test('IAM-5/IAM-8/IAM-10: security settings saved from the console; a self-locking allowlist is warned and refused', async () => {
	const page = await adminPage('en');
	await go(page, 'security');
	assert.equal(await page.getByTestId('my-ip-value').textContent(), '127.0.0.1');
	await page.getByTestId('pw-min-length').fill('12');
	await page.getByTestId('pw-min-classes').selectOption('4');
	await page.getByTestId('lockout-threshold').fill('4');
	await page.getByTestId('lockout-minutes').fill('0');
	await page.getByTestId('idle-minutes').fill('20');
	await page.getByTestId('absolute-minutes').fill('480');
	await page.getByTestId('mfa-admins').check();
	await page.getByTestId('mfa-none').check();
	await page.getByTestId('allow-console').fill('127.0.0.1/32\n10.0.0.0/8');
	await page.getByTestId('allow-all').fill('127.0.0.0/8\n::1/128');
	assert.equal(await page.getByTestId('lockout-warning').textContent(), '');
	await page.getByTestId('security-save').click();
	await page.getByTestId('security-msg').getByText('Saved.').waitFor();
	let s = (await admin.request('GET', '/api/v1/settings/security')).json;
	assert.equal(s.password_min_length, 12);
	assert.equal(s.password_min_classes, 4);
	assert.equal(s.lockout_threshold, 4);
	assert.equal(s.lockout_minutes, 0);
	assert.equal(s.idle_timeout_seconds, 1200);
	assert.equal(s.absolute_lifetime_seconds, 28800);
	assert.equal(s.mfa_required, 'none');
	assert.deepEqual(s.ip_allowlist, { console: ['127.0.0.1/32', '10.0.0.0/8'], api: [], all: ['127.0.0.0/8', '::1/128'] });
	// the form shows what was saved, in minutes
	assert.equal(await page.getByTestId('idle-minutes').inputValue(), '20');

	// a malformed range is caught in the form
	await page.getByTestId('allow-api').fill('192.0.2.1/24');
	await page.getByTestId('allow-api-error').locator('.notice-error').waitFor();
	await page.getByTestId('security-save').click();
	assert.equal(await page.getByTestId('security-msg').textContent(), 'Correct the address lists first.');
	await page.getByTestId('allow-api').fill('');

	// an allowlist without 127.0.0.1: warned as you type, asked before
	// saving, and the server's refusal shown
	await page.getByTestId('allow-console').fill('10.0.0.0/8');
	await page.getByTestId('lockout-warning').locator('.notice-warn').waitFor();
	assert.match(await page.getByTestId('lockout-warning').textContent(), /127\.0\.0\.1/);
	await page.getByTestId('security-save').click();
	await dialog(page).waitFor();
	assert.match(await dialog(page).textContent(), /127\.0\.0\.1/);
	await dialog(page).locator('button', { hasText: 'Cancel' }).click();
	assert.equal(await page.getByTestId('security-msg').textContent(), '');
	await page.getByTestId('security-save').click();
	await dialog(page).locator('button.danger').click();
	await page.getByTestId('security-msg').locator('.notice-error').waitFor();
	assert.equal(await page.getByTestId('security-msg').textContent(), await text(page, 'error.would_lock_you_out'));
	s = (await admin.request('GET', '/api/v1/settings/security')).json;
	assert.deepEqual(s.ip_allowlist.console, ['127.0.0.1/32', '10.0.0.0/8']);
	// still signed in and working
	await go(page, 'users');
	await page.getByTestId(`user-row-${info.admin_login}`).waitFor();
	assert.deepEqual(unexpected(page), []);
	await page.context().close();
});

test('the audit log viewer shows the invitation, the role change, the unlock and the settings change', async () => {
	const page = await adminPage('en');
	for (const [group, label] of [['user.*', 'User invited'], ['auth.*', 'Invitation accepted'],
		['role.*', 'Role created'], ['user.*', 'User changed'], ['user.*', 'User unlocked'],
		['settings.*', 'Security settings changed'], ['auth.*', 'Sign-in']]) {
		const rows = await auditFind(page, group, label);
		assert.ok(rows.some(r => r.includes(label)), `${label} in ${group}`);
	}
	// the refused allowlist change is there too, as a failure (409)
	const rows = await auditFind(page, 'settings.*', 'Security settings changed');
	assert.ok(rows.some(r => r.includes('Failure') && r.includes('409')), 'the refused change');
	await shot(page, 'admin-audit-settings-en');
	await page.context().close();
});

test('IAM-4: the access review lists the users and downloads a CSV', async () => {
	const page = await adminPage('en');
	await go(page, 'access-review');
	const row = page.getByTestId(`access-row-${invited.login}`);
	await row.waitFor();
	await page.getByTestId(`access-row-${info.admin_login}`).waitFor();
	assert.match(await row.textContent(), /Auditors/);
	assert.match(await page.getByTestId(`access-row-${info.admin_login}`).textContent(), /Tenant admin/);
	assert.equal(await page.getByTestId('access-count').textContent(), '2 users');
	const [download] = await Promise.all([
		page.waitForEvent('download'),
		page.getByTestId('access-csv').click(),
	]);
	assert.equal(download.suggestedFilename(), 'access-review.csv');
	const csv = readFileSync(await download.path(), 'utf8').replace(/^\uFEFF/, '');
	const lines = csv.split('\r\n').filter(Boolean);
	assert.equal(lines[0], '"id","login_id","display_name","email","status","roles","permissions","mfa_enabled","last_login","projects"');
	assert.equal(lines.length, 3);
	assert.ok(lines.some(l => l.includes(`"${invited.login}"`) && l.includes('"Auditors"')));
	assert.deepEqual(unexpected(page), []);
	await page.context().close();
});

// Every screen and dialog, in one language; returns the page.
async function tour(lang) {
	const page = await adminPage(lang);
	await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
	const s = async name => {
		// the sticky top bar would show mid-page in a full-page shot of a scrolled page
		await page.evaluate(() => window.scrollTo(0, 0));
		await shot(page, `admin-${name}-${lang}`);
	};
	const cancel = async () => {
		await dialog(page).locator('button', { hasText: await text(page, 'common.cancel') }).click();
		await dialog(page).waitFor({ state: 'detached' });
	};

	await go(page, 'users');
	await page.getByTestId(`user-row-${invited.login}`).getByTestId('locked-badge').waitFor();
	await s('users');
	// invite: the form, then the link
	await page.getByTestId('invite-open').click();
	await page.getByTestId('invite-login').fill(`tour-${lang}`);
	await page.getByTestId('invite-email').fill(`tour-${lang}@example.com`);
	await s('users-invite');
	await submit(page).click();
	await page.getByTestId('invite-link').waitFor();
	await page.getByTestId('invite-copy').click();
	await page.locator('.copy-status').filter({ hasText: await text(page, 'users.copied') }).waitFor();
	await s('users-invite-link');
	await page.getByTestId('invite-link-close').click();
	// a client-side error in the invite form
	await page.getByTestId('invite-open').click();
	await page.getByTestId('invite-login').fill('bad login!');
	await submit(page).click();
	await dialog(page).locator('.notice-error').waitFor();
	await s('users-invite-error');
	await cancel();
	// edit
	await page.getByTestId(`user-row-tour-${lang}`).getByTestId('user-edit').click();
	await s('users-edit');
	await cancel();
	// filters
	await page.getByTestId('filter-status').selectOption('invited');
	await page.getByTestId(`user-row-${info.admin_login}`).waitFor({ state: 'detached' });
	assert.equal(await page.getByTestId(`user-row-tour-${lang}`).count(), 1);
	await page.getByTestId('filter-status').selectOption('');
	await page.getByTestId(`user-row-${info.admin_login}`).waitFor();
	await page.getByTestId('filter-search').fill(`tour-${lang}`);
	assert.equal(await page.locator('[data-testid^=user-row-]').count(), 1);
	await s('users-search');
	await page.getByTestId('filter-search').fill('');
	// one user's page and its dialogs
	await page.getByTestId(`user-row-${invited.login}`).getByTestId('user-manage').click();
	await page.getByTestId('action-unlock').waitFor();
	await s('user-detail');
	for (const a of ['revoke', 'disable', 'delete']) {
		await page.getByTestId(`action-${a}`).click();
		await dialog(page).waitFor();
		await s(`user-${a}-confirm`);
		await cancel();
	}
	await page.getByTestId('detail-edit').click();
	await s('user-edit');
	await cancel();
	// the invited user's page: re-invite shows a new link
	await go(page, 'users');
	await page.getByTestId(`user-row-tour-${lang}`).getByTestId('user-manage').click();
	await page.getByTestId('action-reinvite').click();
	await dialog(page).locator('button.primary').click();
	await page.getByTestId('invite-link').waitFor();
	await s('user-reinvite-link');
	await page.getByTestId('invite-link-close').click();
	await page.getByTestId('user-msg').locator('.notice-ok').waitFor();
	// roles and the editor
	await go(page, 'roles');
	await page.getByTestId('role-row-Auditors').waitFor();
	await page.getByTestId('role-row-tenant_admin').locator('summary').click();
	await s('roles');
	await page.getByTestId('role-new').click();
	await s('roles-new');
	await cancel();
	await page.getByTestId('role-row-Auditors').getByTestId('role-edit').click();
	await s('roles-edit');
	await cancel();
	await page.getByTestId('role-row-Auditors').getByTestId('role-delete').click();
	await s('roles-delete-confirm');
	await cancel();
	// access review
	await go(page, 'access-review');
	await page.getByTestId(`access-row-${invited.login}`).waitFor();
	await s('access-review');
	// security settings
	await go(page, 'security');
	await page.getByTestId('pw-min-length').waitFor();
	await s('security');
	await page.getByTestId('allow-console').fill('10.0.0.0/8');
	await page.getByTestId('allow-api').fill('192.0.2.1/24');
	await page.getByTestId('lockout-warning').locator('.notice-warn').waitFor();
	await s('security-warning');
	await page.getByTestId('allow-api').fill('');
	await page.getByTestId('security-save').click();
	await dialog(page).waitFor();
	await s('security-confirm');
	await cancel();
	await page.getByTestId('security-save').click();
	await dialog(page).locator('button.danger').click();
	await page.getByTestId('security-msg').locator('.notice-error').waitFor();
	await s('security-refused');
	return page;
}

test('console: every admin screen and dialog in en and ja, no missing catalogue keys', async () => {
	// a locked user, so that the list and the user's page show the lock
	const n = (await admin.request('GET', '/api/v1/settings/security')).json.lockout_threshold;
	const anon = new Api(base);
	for (let i = 0; i < n; i++)
		await anon.request('POST', '/api/v1/auth/login',
			{ contract_id: info.contract_id, login_id: invited.login, password: 'Not-the-password-9' });
	assert.equal((await user(invited.login)).locked, true);
	for (const lang of ['en', 'ja']) {
		const page = await tour(lang);
		assert.deepEqual(await missingKeys(page), [], lang);
		assert.deepEqual(unexpected(page), [], lang);
		if (lang === 'ja') {
			assert.equal(await page.locator('main h1').textContent(), 'セキュリティ設定');
			assert.match(await page.locator('nav.side').textContent(), /権限の棚卸し/);
		}
		await page.context().close();
	}
	await admin.request('POST', `/api/v1/users/${invited.id}/unlock`);
	// the tour's invitations are real
	assert.equal((await user('tour-en')).status, 'invited');
	assert.equal((await user('tour-ja')).status, 'invited');
});
