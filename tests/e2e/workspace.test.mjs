// The workspace screens in a real Chromium against a real kura: projects,
// folders, uploads with a progress bar (throttled through the DevTools
// protocol so that progress is visible), downloads compared by SHA-256,
// versions, labels and the label filter, tasks linked to files, members
// and what a viewer may not do, quota errors, recursive folder deletion,
// and screenshots of every screen and dialog in English and Japanese.
// Evidence for DAT-1 and DAT-2 in the console (issue 6).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import https from 'node:https';
import { startKura, launch, newPage, signIn, shot, missingKeys, Api, strongPassword, unique, auditFind, settled, open } from './lib.mjs';

let kura, browser, base, info, admin, adminId, tmp;
let viewer;            // {id, login, password}
const MiB = 1024 * 1024;
const sha = b => createHash('sha256').update(b).digest('hex');
const P = '/api/v1/projects';

// raw PUT of a file's content through the set-up API client
function putContent(api, path, buf) {
	return new Promise((resolve, reject) => {
		const req = https.request(new URL(path, api.base), { method: 'PUT', rejectUnauthorized: false,
			headers: { Cookie: api.cookie, 'X-CSRF-Token': api.csrf, 'Content-Type': 'application/octet-stream',
				'Content-Length': buf.length } }, res => {
			const chunks = [];
			res.on('data', c => chunks.push(c));
			res.on('end', () => resolve({ status: res.statusCode, json: JSON.parse(Buffer.concat(chunks).toString() || 'null') }));
		});
		req.on('error', reject);
		req.end(buf);
	});
}

async function ok(r, status = 200) {
	assert.equal(r.status, status, `${r.status} ${r.text}`);
	return r.json;
}

async function adminPage(lang = 'en') {
	const page = await newPage(browser, base, lang);
	await signIn(page, info.contract_id, 'admin', info.admin_password);
	await page.locator('nav.side').waitFor();
	return page;
}

// the dialog's submit (formDialog) or its last button (confirmDialog)
async function submitDialog(page) {
	await page.locator('dialog[open] button[type=submit]').click();
	await page.locator('dialog[open]').waitFor({ state: 'detached' });
}

// Record every value a <progress> takes (attribute changes) in the page.
async function watchProgress(page) {
	await page.evaluate(() => {
		window.__progress = [];
		const note = el => window.__progress.push({ value: Number(el.getAttribute('value')), max: Number(el.getAttribute('max')) });
		new MutationObserver(list => {
			for (const m of list) {
				if (m.type === 'attributes' && m.target.tagName === 'PROGRESS') note(m.target);
				for (const n of m.addedNodes || [])
					if (n.querySelectorAll) n.querySelectorAll('progress').forEach(note);
			}
		}).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['value', 'max'] });
	});
}

async function throttle(page, bytesPerSecond) {
	const cdp = await page.context().newCDPSession(page);
	await cdp.send('Network.enable');
	await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0,
		downloadThroughput: -1, uploadThroughput: bytesPerSecond });
	return async () => {
		await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0,
			downloadThroughput: -1, uploadThroughput: -1 });
		await cdp.detach();
	};
}

// The uploads started on this screen are over, the file list redrawn
// after them.  Call it once the batch has shown something of its own (a
// row's final status): the batch marks the uploads busy before that, so
// "done" cannot be the mark of an earlier batch.
async function uploadsDone(page) {
	await page.locator('[data-testid=uploads][data-state=done]').waitFor({ state: 'attached' });
}

async function chooseFiles(page, testid, files) {
	const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.getByTestId(testid).click()]);
	await chooser.setFiles(files);
}

async function downloadBytes(page, locator) {
	const [dl] = await Promise.all([page.waitForEvent('download'), locator.click()]);
	return { bytes: readFileSync(await dl.path()), name: dl.suggestedFilename() };
}

// No console errors apart from the expected refusals (e.g. a 409 that the
// screen turns into a message); the list starts afresh after each check.
function noErrors(page, allowed = []) {
	const left = page.kuraErrors.filter(e => !allowed.some(s =>
		e.includes(`Failed to load resource: the server responded with a status of ${s} `)));
	page.kuraErrors = [];
	assert.deepEqual(left, [], 'console errors');
}

before(async () => {
	tmp = mkdtempSync(join(tmpdir(), 'kura-ws-'));
	kura = await startKura();
	info = kura.info;
	base = info.base_url;
	browser = await launch();
	admin = new Api(base);
	adminId = (await admin.login(info.contract_id, 'admin', info.admin_password)).user.id;
	// a second user (member role) who accepted the invitation
	const login = unique('vera');
	const u = await ok(await admin.request('POST', '/api/v1/users', { login_id: login,
		email: `${login}@example.com`, display_name: 'Vera Viewer', roles: ['member'] }), 201);
	const password = strongPassword();
	await ok(await new Api(base).request('POST', '/api/v1/auth/accept-invitation',
		{ token: u.invitation_token, password }));
	viewer = { id: u.id, login, password };
});

after(async () => {
	if (browser) await browser.close();
	if (kura) await kura.stop();
	if (tmp) rmSync(tmp, { recursive: true, force: true });
});

// state shared by the tests below, in order
let page, pid, dirId, bigId;
let original;           // the 6 MiB of version 1
const projectName = 'Q3 Report 2026';

test('create a project and a folder; upload 6 MiB with a progress bar; download it intact', async () => {
	page = await adminPage('en');
	await open(page, 'projects');
	await page.getByTestId('project-new').click();
	await page.getByTestId('project-name').fill(projectName);
	await page.getByTestId('project-description').fill('Figures and drafts for the quarter');
	await page.getByTestId('labels-input').fill('finance, q3');
	await submitDialog(page);
	await settled(page, /#\/projects\/[^/?]+$/);
	await page.getByTestId('project-title').filter({ hasText: projectName }).waitFor();
	const list = await ok(await admin.request('GET', `${P}?label=FINANCE`));
	assert.equal(list.items.length, 1);
	const proj = list.items[0];
	pid = proj.id;
	assert.equal(proj.name, projectName);
	assert.equal(proj.description, 'Figures and drafts for the quarter');
	assert.deepEqual(proj.labels, ['finance', 'q3']);
	assert.equal(proj.role, 'owner');

	await page.getByTestId('folder-new').click();
	await page.getByTestId('folder-name').fill('Contracts');
	await submitDialog(page);
	await settled(page, /[?&]dir=/);
	await page.locator('[data-testid=tree-folder][data-name=Contracts].active').waitFor();
	const dirs = await ok(await admin.request('GET', `${P}/${pid}/directories`));
	assert.deepEqual(dirs.items.map(d => d.name), ['Contracts']);
	dirId = dirs.items[0].id;
	assert.match(page.url(), new RegExp(`dir=${dirId}`));

	original = randomBytes(6 * MiB);
	const path = join(tmp, 'big.bin');
	writeFileSync(path, original);
	await watchProgress(page);
	const unthrottle = await throttle(page, 4 * MiB);
	await chooseFiles(page, 'upload', path);
	const row = page.locator('[data-testid=upload-row][data-name="big.bin"]');
	await row.getByTestId('upload-progress').waitFor();
	await row.getByTestId('upload-status').filter({ hasText: 'Version 1 saved' }).waitFor({ timeout: 20000 });
	await uploadsDone(page);
	await unthrottle();
	assert.equal(await row.getByTestId('upload-pct').textContent(), '100%');
	const seen = await page.evaluate(() => window.__progress);
	const size = original.length;
	assert.ok(seen.some(p => p.max === size && p.value > 0 && p.value < size),
		`an intermediate value was shown: ${JSON.stringify(seen.slice(0, 12))}`);
	const last = seen[seen.length - 1];
	assert.deepEqual(last, { value: size, max: size }, 'the bar reached its maximum');
	const values = seen.filter(p => p.max === size).map(p => p.value);
	assert.deepEqual(values, [...values].sort((a, b) => a - b), 'progress only grows');
	assert.ok(new Set(values).size >= 3, `several steps: ${values}`);

	const files = await ok(await admin.request('GET', `${P}/${pid}/files?directory_id=${dirId}`));
	assert.equal(files.items.length, 1);
	const f = files.items[0];
	bigId = f.id;
	assert.equal(f.name, 'big.bin');
	assert.equal(f.size, size);
	assert.equal(f.current_version, 1);
	assert.equal(f.sha256, sha(original));
	// the list shows it
	const fileRow = page.locator('tr', { has: page.locator('[data-testid=file-row][data-name="big.bin"]') });
	await fileRow.getByText('v1').waitFor();
	await fileRow.getByText('6.0 MiB').waitFor();

	const got = await downloadBytes(page, page.locator('[data-testid=file-download][data-name="big.bin"]'));
	assert.equal(got.bytes.length, size);
	assert.equal(sha(got.bytes), sha(original));
	assert.equal(got.name, 'big.bin');
	noErrors(page);
});

test('a second upload of the same name is version 2; version 1 still downloads intact', async () => {
	const second = randomBytes(MiB + 123);
	await chooseFiles(page, 'upload', { name: 'big.bin', mimeType: 'application/octet-stream', buffer: second });
	await page.locator('[data-testid=upload-row][data-name="big.bin"]').getByTestId('upload-status')
		.filter({ hasText: 'Version 2 saved' }).waitFor();
	await uploadsDone(page);
	const f = await ok(await admin.request('GET', `${P}/${pid}/files/${bigId}`));
	assert.equal(f.current_version, 2);
	assert.equal(f.size, second.length);
	assert.deepEqual(f.versions.map(v => v.version), [2, 1]);
	const files = await ok(await admin.request('GET', `${P}/${pid}/files?directory_id=${dirId}`));
	assert.equal(files.items.length, 1, 'no second file of the same name');

	await page.locator('[data-testid=file-versions][data-name="big.bin"]').click();
	const dlg = page.locator('dialog[open]');
	await dlg.getByTestId('versions').waitFor();
	assert.equal(await dlg.getByTestId('version-download').count(), 2);
	const v1 = await downloadBytes(page, dlg.locator('[data-testid=version-download][data-version="1"]'));
	assert.equal(sha(v1.bytes), sha(original));
	const v2 = await downloadBytes(page, dlg.locator('[data-testid=version-download][data-version="2"]'));
	assert.equal(sha(v2.bytes), sha(second));
	await dlg.getByTestId('dialog-close').click();
	noErrors(page, [409]);   // the name is taken: the console then adds a version
});

test('the audit log viewer shows the uploads and downloads just made', async () => {
	const audit = await adminPage('en');
	const rows = await auditFind(audit, 'file.*', 'File uploaded');
	assert.ok(rows.filter(r => r.includes('File uploaded') && r.includes(bigId.slice(0, 12))).length >= 2,
		'two uploads of big.bin');
	assert.ok(rows.filter(r => r.includes('File downloaded') && r.includes(bigId.slice(0, 12))).length >= 3,
		'three downloads of big.bin');
	await shot(audit, 'workspace-audit-file-events-en');
	await audit.context().close();
});

test('labels: set a label on a file, filter by it (any case), the API agrees', async () => {
	await chooseFiles(page, 'upload', { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('meeting notes\n') });
	await page.locator('[data-testid=upload-row][data-name="notes.txt"]').getByTestId('upload-status')
		.filter({ hasText: 'Version 1 saved' }).waitFor();
	await uploadsDone(page);
	await page.locator('[data-testid=file-row][data-name="notes.txt"]').waitFor();

	await page.locator('[data-testid=file-edit][data-name="big.bin"]').click();
	await page.getByTestId('labels-input').fill('Signed, 2026、legal');
	await submitDialog(page);
	const bigRow = page.locator('tr', { has: page.locator('[data-testid=file-row][data-name="big.bin"]') });
	await bigRow.locator('.badge.label', { hasText: 'Signed' }).waitFor();
	const f = await ok(await admin.request('GET', `${P}/${pid}/files/${bigId}`));
	assert.deepEqual(f.labels, ['Signed', '2026', 'legal']);

	await page.getByTestId('file-label-filter').fill('signed');
	await page.getByTestId('file-filter').click();
	await settled(page, /label=signed/);
	await page.locator('[data-testid=file-row][data-name="big.bin"]').waitFor();
	assert.equal(await page.locator('[data-testid=file-row][data-name="notes.txt"]').count(), 0);
	assert.equal(await page.getByTestId('file-row').count(), 1);
	const filtered = await ok(await admin.request('GET', `${P}/${pid}/files?directory_id=${dirId}&label=signed`));
	assert.deepEqual(filtered.items.map(x => x.name), ['big.bin']);
	await page.getByTestId('file-filter-clear').click();
	await settled(page, u => !String(u).includes('label='));
	await page.locator('[data-testid=file-row][data-name="notes.txt"]').waitFor();
	noErrors(page);
});

test('a task linked to the file and assigned to the admin; its status changes', async () => {
	await page.getByTestId('tab-tasks').click();
	// the tab's own first load of the list must be over before a task is
	// created: a late answer would be added to the list after the new one
	await settled(page, /\/tasks$/);
	await page.getByTestId('task-new').click();
	await page.getByTestId('task-title').fill('Review the signed contract');
	await page.getByTestId('task-description').fill('Check figures\nthen sign off');
	await page.getByTestId('task-assignee').selectOption(adminId);
	await page.getByTestId('task-due').fill('2030-01-15');
	await page.getByTestId('labels-input').fill('legal');
	await page.locator('[data-testid=task-file][data-name="Contracts/big.bin"]').check();
	await submitDialog(page);
	const row = page.locator('tr', { has: page.locator('[data-testid=task-row][data-title="Review the signed contract"]') });
	await row.getByText('Contracts/big.bin').waitFor();
	await row.getByText('15/01/2030').waitFor();
	let tasks = await ok(await admin.request('GET', `${P}/${pid}/tasks`));
	assert.equal(tasks.items.length, 1);
	const task = tasks.items[0];
	assert.equal(task.title, 'Review the signed contract');
	assert.equal(task.description, 'Check figures\nthen sign off');
	assert.equal(task.status, 'open');
	assert.equal(task.assignee_id, adminId);
	assert.deepEqual(task.file_ids, [bigId]);
	assert.deepEqual(task.labels, ['legal']);
	assert.match(task.due, /^2030-01-15T00:00:00\.000000\+09:00$/);

	await row.getByTestId('task-row-status').selectOption('in_progress');
	await page.getByTestId('tasks-msg').filter({ hasText: 'In progress' }).waitFor();
	tasks = await ok(await admin.request('GET', `${P}/${pid}/tasks?status=in_progress`));
	assert.deepEqual(tasks.items.map(x => x.id), [task.id]);

	// the edit dialog keeps what it does not change and saves the rest
	await row.getByTestId('task-edit').click();
	assert.equal(await page.getByTestId('task-due').inputValue(), '2030-01-15');
	await page.getByTestId('task-status').selectOption('done');
	await submitDialog(page);
	// the select's chosen option (its text holds every option's label)
	await row.locator('[data-testid=task-row-status] option:checked[value=done]').waitFor({ state: 'attached' });
	const t2 = await ok(await admin.request('GET', `${P}/${pid}/tasks/${task.id}`));
	assert.equal(t2.status, 'done');
	assert.deepEqual(t2.file_ids, [bigId]);
	assert.equal(t2.assignee_id, adminId);

	// status filter through the console
	await page.getByTestId('task-status-filter').selectOption('open');
	await page.getByTestId('task-filter').click();
	await settled(page, /status=open/);
	await page.getByText('Nothing matches the filter.').waitFor();
	noErrors(page);
});

test('members: the owner adds a viewer; the last owner cannot be demoted; the viewer sees no change buttons', async () => {
	await open(page, `projects/${pid}/members`);
	await page.getByTestId('member-add').click();
	await page.getByTestId('member-user').selectOption(viewer.id);
	await page.getByTestId('member-role').selectOption('viewer');
	await submitDialog(page);
	await page.locator(`[data-testid=member-row][data-user="${viewer.id}"]`).waitFor();
	await page.getByTestId('members-msg').filter({ hasText: 'Vera Viewer was added' }).waitFor();
	const members = await ok(await admin.request('GET', `${P}/${pid}/members`));
	assert.deepEqual(members.items.map(m => [m.user_id, m.role]).sort(),
		[[adminId, 'owner'], [viewer.id, 'viewer']].sort());

	const own = page.locator(`[data-testid=member-role-select][data-user="${adminId}"]`);
	await own.selectOption('editor');
	await page.getByTestId('members-msg').filter({ hasText: 'A project needs at least one owner.' }).waitFor();
	assert.equal(await own.inputValue(), 'owner', 'the select goes back');
	const again = await ok(await admin.request('GET', `${P}/${pid}/members`));
	assert.equal(again.items.find(m => m.user_id === adminId).role, 'owner');
	noErrors(page, [409]);

	const vp = await newPage(browser, base, 'en');
	await signIn(vp, info.contract_id, viewer.login, viewer.password);
	await vp.locator('nav.side').waitFor();
	await open(vp, `projects/${pid}/files?dir=${dirId}`);
	await vp.locator('[data-testid=file-row][data-name="big.bin"]').waitFor();
	await vp.locator('.badge.role', { hasText: 'Viewer' }).waitFor();
	for (const id of ['upload', 'folder-new', 'folder-edit', 'folder-delete', 'file-edit', 'file-delete', 'upload-input', 'tab-settings'])
		assert.equal(await vp.getByTestId(id).count(), 0, `viewer sees no ${id}`);
	assert.equal(await vp.getByTestId('file-download').count(), 2, 'but may download');
	await vp.locator('[data-testid=file-versions][data-name="big.bin"]').click();
	await vp.locator('dialog[open]').getByTestId('versions').waitFor();
	assert.equal(await vp.getByTestId('version-upload').count(), 0);
	await shot(vp, 'workspace-viewer-versions-en');
	await vp.getByTestId('dialog-close').click();
	await shot(vp, 'workspace-viewer-files-en');
	await vp.getByTestId('tab-tasks').click();
	await settled(vp, /\/tasks$/);
	await vp.locator('[data-testid=task-row]').waitFor();
	for (const id of ['task-new', 'task-edit', 'task-delete', 'task-row-status'])
		assert.equal(await vp.getByTestId(id).count(), 0, `viewer sees no ${id}`);
	await vp.getByTestId('tab-members').click();
	await settled(vp, /\/members$/);
	await vp.locator('[data-testid=member-row]').first().waitFor();
	for (const id of ['member-add', 'member-remove', 'member-role-select'])
		assert.equal(await vp.getByTestId(id).count(), 0, `viewer sees no ${id}`);
	// (the members tab has a files tab link too: wait for the new screen)
	await open(vp, `projects/${pid}/settings`);
	await vp.locator('[data-testid=tab-files].active').waitFor();
	assert.equal(await vp.getByTestId('settings-save').count(), 0, 'settings fall back to files');
	assert.deepEqual(await missingKeys(vp), []);
	noErrors(vp);
	await vp.context().close();
});

test('an upload over the storage quota is refused with a clear message; nothing is recorded', async () => {
	const usage = await ok(await admin.request('GET', '/api/v1/usage'));
	const set = await kura.cmd({ cmd: 'cli', args: ['tenant', 'quota', info.contract_id,
		'--max-bytes', String(usage.bytes + 1000), '--max-files', '100000'] });
	assert.equal(set.rc, 0, set.stderr);
	try {
		await open(page, `projects/${pid}/files`);
		await chooseFiles(page, 'upload', { name: 'too-big.bin', mimeType: 'application/octet-stream', buffer: randomBytes(64 * 1024) });
		const status = page.locator('[data-testid=upload-row][data-name="too-big.bin"]').getByTestId('upload-status');
		await status.locator('.notice-error').filter({ hasText: 'storage quota is used up' }).waitFor();
		await uploadsDone(page);
		assert.match(await status.textContent(), /ask your administrator to raise the quota/);
		await page.getByTestId('usage').filter({ hasText: 'Storage used' }).waitFor();
		await shot(page, 'workspace-quota-error-en');
		const top = await ok(await admin.request('GET', `${P}/${pid}/files`));
		assert.equal(top.items.filter(f => f.name === 'too-big.bin').length, 0);
		let after = await ok(await admin.request('GET', '/api/v1/usage'));
		assert.equal(after.bytes, usage.bytes);
		noErrors(page);

		// an editor who may not read the usage: the server refuses the body
		// (413 quota_exceeded) and the console says so; the empty file
		// entry it had created is removed again
		await ok(await admin.request('PUT', `${P}/${pid}/members/${viewer.id}`, { role: 'editor' }));
		const ep = await newPage(browser, base, 'ja');
		await signIn(ep, info.contract_id, viewer.login, viewer.password);
		await ep.locator('nav.side').waitFor();
		await open(ep, `projects/${pid}/files`);
		await chooseFiles(ep, 'upload', { name: 'too-big.bin', mimeType: 'application/octet-stream', buffer: randomBytes(64 * 1024) });
		const st = ep.locator('[data-testid=upload-row][data-name="too-big.bin"]').getByTestId('upload-status');
		await st.locator('.notice-error').filter({ hasText: 'ストレージ容量の上限に達しています' }).waitFor();
		assert.match(await st.textContent(), /上限の引き上げを依頼してください/);
		// the error shows before the console deletes the empty entry it
		// made and redraws the list (the empty-folder text was there before)
		await uploadsDone(ep);
		await ep.getByText('このフォルダーにファイルはありません').waitFor();
		await shot(ep, 'workspace-quota-error-ja');
		const top2 = await ok(await admin.request('GET', `${P}/${pid}/files`));
		assert.equal(top2.items.filter(f => f.name === 'too-big.bin').length, 0, 'no empty entry left');
		after = await ok(await admin.request('GET', '/api/v1/usage'));
		assert.equal(after.bytes, usage.bytes);
		assert.equal(after.files, usage.files);
		noErrors(ep, [413]);
		await ep.context().close();
		await ok(await admin.request('PUT', `${P}/${pid}/members/${viewer.id}`, { role: 'viewer' }));
	} finally {
		const back = await kura.cmd({ cmd: 'cli', args: ['tenant', 'quota', info.contract_id,
			'--max-bytes', String(5 * 1024 * MiB), '--max-files', '100000'] });
		assert.equal(back.rc, 0, back.stderr);
	}
});

test('deleting a folder that is not empty asks again and then deletes it with its contents', async () => {
	const arch = await ok(await admin.request('POST', `${P}/${pid}/directories`, { name: 'Archive' }), 201);
	const sub = await ok(await admin.request('POST', `${P}/${pid}/directories`, { name: '2025', parent_id: arch.id }), 201);
	const f = await ok(await admin.request('POST', `${P}/${pid}/files`, { name: 'old.txt', directory_id: sub.id }), 201);
	assert.equal((await putContent(admin, `${P}/${pid}/files/${f.id}/content`, Buffer.from('old'))).status, 201);
	await open(page, `projects/${pid}/files?dir=${arch.id}`);
	// the tree is open down to the current folder and shows its subfolder
	await page.locator('[data-testid=tree-folder][data-name="2025"]').waitFor();
	await page.getByTestId('folder-delete').click();
	await page.locator('dialog[open] button.danger').click();
	const second = page.locator('dialog[open]');
	await second.getByText('contains folders or files').waitFor();
	await second.locator('button.danger', { hasText: 'Delete everything' }).click();
	await settled(page, u => !String(u).includes(arch.id));
	await page.locator('[data-testid=tree-folder][data-name="Contracts"]').waitFor();
	assert.equal(await page.locator('[data-testid=tree-folder][data-name="Archive"]').count(), 0);
	const dirs = await ok(await admin.request('GET', `${P}/${pid}/directories`));
	assert.deepEqual(dirs.items.map(d => d.name), ['Contracts']);
	const gone = await admin.request('GET', `${P}/${pid}/files/${f.id}`);
	assert.equal(gone.status, 404);
	noErrors(page, [409]);
	await page.context().close();
});

test('a list reloaded while its first load is on the way shows each row once', async () => {
	const p = await ok(await admin.request('POST', P, { name: 'Overlap' }), 201);
	await ok(await admin.request('POST', `${P}/${p.id}/tasks`, { title: 'First task' }), 201);
	const pg = await adminPage('en');
	await open(pg, `projects/${p.id}/files`);
	// hold back the tab's first list answer until the reload after the
	// new task has been drawn: the old answer then comes last
	let release, held = 0;
	const gate = new Promise(r => { release = r; });
	await pg.route(u => u.pathname === `${P}/${p.id}/tasks`, async route => {
		if (route.request().method() === 'GET' && held++ === 0) await gate;
		await route.continue();
	});
	const first = pg.waitForResponse(r => r.url().includes(`${P}/${p.id}/tasks`) &&
		r.request().method() === 'GET');
	await pg.getByTestId('tab-tasks').click();
	await pg.getByTestId('task-new').click();
	await pg.getByTestId('task-title').fill('Second task');
	await submitDialog(pg);
	await pg.locator('[data-testid=task-row][data-title="Second task"]').waitFor();
	release();
	await (await first).finished();
	// let the page take the late answer (fetch, JSON, draw) before counting
	await pg.evaluate(() => new Promise(r => setTimeout(r, 200)));
	const titles = await pg.getByTestId('task-row').evaluateAll(els => els.map(e => e.dataset.title));
	assert.deepEqual(titles.sort(), ['First task', 'Second task'], 'each task once');
	assert.equal((await ok(await admin.request('DELETE', `${P}/${p.id}`))).deleted, true);
	noErrors(pg);
	await pg.context().close();
});

test('long lists page with "Load more"', async () => {
	const p = await ok(await admin.request('POST', P, { name: 'Paging', labels: ['bulk'] }), 201);
	const names = [];
	for (let i = 0; i < 53; i++) {
		const name = `file-${String(i).padStart(2, '0')}.txt`;
		names.push(name);
		await ok(await admin.request('POST', `${P}/${p.id}/files`, { name }), 201);
	}
	const pg = await adminPage('en');
	await open(pg, `projects/${p.id}/files`);
	await pg.getByTestId('files-more').waitFor();
	assert.equal(await pg.getByTestId('file-row').count(), 50);
	await pg.getByTestId('files-more').click();
	await pg.getByTestId('file-row').nth(52).waitFor();
	assert.equal(await pg.getByTestId('files-more').count(), 0, 'no more pages');
	const shown = await pg.getByTestId('file-row').evaluateAll(els => els.map(e => e.dataset.name));
	assert.deepEqual(shown, names, 'every file once, sorted by name');
	// files without content offer no download
	assert.equal(await pg.getByTestId('file-download').count(), 0);
	await pg.getByText('No content yet').first().waitFor();
	assert.equal((await ok(await admin.request('DELETE', `${P}/${p.id}`))).deleted, true);
	noErrors(pg);
	await pg.context().close();
});

// ------------------------------------------------------------ screenshots

async function seed() {
	const mk = async (path, body, status = 201) => ok(await admin.request('POST', path, body), status);
	const projects = [];
	for (const [name, desc, labels] of [
		['Sales deck 2026', 'Slides and figures for the spring campaign', ['sales']],
		['人事評価 2026年度', '評価シートと面談記録', ['hr', 'confidential']],
		['Website renewal', '', ['web']]]) projects.push(await mk(P, { name, description: desc, labels }));
	const p = projects[0];
	const d1 = await mk(`${P}/${p.id}/directories`, { name: 'Drafts', labels: ['wip'] });
	const d2 = await mk(`${P}/${p.id}/directories`, { name: 'Final' });
	await mk(`${P}/${p.id}/directories`, { name: 'Images' });
	await mk(`${P}/${p.id}/directories`, { name: '2026-04', parent_id: d1.id });
	const fileIds = [];
	for (const [name, size, labels, dir] of [
		['campaign-deck.pptx', 420000, ['sales', 'draft'], d1.id], ['budget.xlsx', 81000, ['finance'], d1.id],
		['見積書_2026.pdf', 230000, ['顧客提出'], d1.id], ['notes.md', 1200, [], d1.id],
		['final-deck.pdf', 1900000, ['approved'], d2.id]]) {
		const f = await mk(`${P}/${p.id}/files`, { name, directory_id: dir, labels });
		assert.equal((await putContent(admin, `${P}/${p.id}/files/${f.id}/content`, randomBytes(size))).status, 201);
		fileIds.push(f.id);
	}
	// a second version of the deck
	assert.equal((await putContent(admin, `${P}/${p.id}/files/${fileIds[0]}/content`, randomBytes(433000))).status, 201);
	await ok(await admin.request('PUT', `${P}/${p.id}/members/${viewer.id}`, { role: 'editor' }), 201);
	for (const [title, status, assignee, due, labels, files] of [
		['Draft the campaign deck', 'in_progress', adminId, '2026-05-20T00:00:00+09:00', ['sales'], [fileIds[0]]],
		['Check the budget with finance', 'open', viewer.id, '2026-05-31T00:00:00+09:00', ['finance'], [fileIds[1], fileIds[2]]],
		['Publish the final deck', 'done', null, null, [], [fileIds[4]]]])
		await mk(`${P}/${p.id}/tasks`, { title, description: title === 'Draft the campaign deck' ? 'Use the new brand colours.' : '',
			status, assignee_id: assignee, due, labels, file_ids: files });
	return { pid: p.id, drafts: d1.id, deck: fileIds[0] };
}

test('screenshots of every screen and dialog in English and Japanese; no missing catalogue keys', async () => {
	const s = await seed();
	for (const lang of ['en', 'ja']) {
		const pg = await adminPage(lang);
		const cancel = async () => {
			await pg.locator('dialog[open] .actions button').first().click();
			await pg.locator('dialog[open]').waitFor({ state: 'detached' });
		};
		await open(pg, 'projects');
		await pg.locator('[data-testid=project-link]').nth(3).waitFor();
		await shot(pg, `workspace-projects-${lang}`);
		await pg.getByTestId('project-new').click();
		await pg.getByTestId('project-name').fill(lang === 'ja' ? '新製品の企画' : 'New product plan');
		await shot(pg, `workspace-project-new-${lang}`);
		await cancel();
		await pg.getByTestId('project-label-filter').fill('sales');
		await pg.getByTestId('project-filter').click();
		await settled(pg, /label=sales/);
		await pg.locator('[data-testid=project-link]').first().waitFor();
		assert.equal(await pg.getByTestId('project-link').count(), 1);
		await shot(pg, `workspace-projects-filtered-${lang}`);

		await open(pg, `projects/${s.pid}/files?dir=${s.drafts}`);
		await pg.locator('[data-testid=file-row]').nth(3).waitFor();
		await pg.locator('[data-testid=tree-folder][data-name="2026-04"]').waitFor();
		await shot(pg, `workspace-files-${lang}`);
		// an upload in flight, slowed down
		await watchProgress(pg);
		const unthrottle = await throttle(pg, 1 * MiB);
		await chooseFiles(pg, 'upload', { name: 'survey-results.csv', mimeType: 'text/csv', buffer: randomBytes(3 * MiB) });
		await pg.waitForFunction(() => window.__progress.some(p => p.value > 0 && p.value < p.max && p.max > 1000000));
		await shot(pg, `workspace-upload-progress-${lang}`);
		await pg.locator('[data-testid=upload-row][data-name="survey-results.csv"] .badge.ok').waitFor({ timeout: 20000 });
		await uploadsDone(pg);
		await unthrottle();
		await pg.locator('[data-testid=file-row][data-name="survey-results.csv"]').waitFor();
		await shot(pg, `workspace-upload-done-${lang}`);

		await pg.getByTestId('folder-new').click();
		await shot(pg, `workspace-folder-new-${lang}`);
		await cancel();
		await pg.getByTestId('folder-edit').click();
		await shot(pg, `workspace-folder-edit-${lang}`);
		await cancel();
		await pg.getByTestId('folder-delete').click();
		await shot(pg, `workspace-folder-delete-${lang}`);
		await pg.locator('dialog[open] button.danger').click();
		await pg.locator('dialog[open]').getByText(lang === 'ja' ? '中身ごと削除' : 'Delete everything').waitFor();
		await shot(pg, `workspace-folder-not-empty-${lang}`);
		await cancel();
		await pg.locator('[data-testid=file-versions][data-name="campaign-deck.pptx"]').click();
		await pg.locator('dialog[open] [data-testid=version-download]').nth(1).waitFor();
		await shot(pg, `workspace-file-versions-${lang}`);
		await pg.getByTestId('dialog-close').click();
		await pg.locator('[data-testid=file-edit][data-name="campaign-deck.pptx"]').click();
		await shot(pg, `workspace-file-edit-${lang}`);
		await cancel();
		await pg.locator('[data-testid=file-delete][data-name="campaign-deck.pptx"]').click();
		await shot(pg, `workspace-file-delete-${lang}`);
		await cancel();

		await pg.getByTestId('tab-tasks').click();
		await settled(pg, /\/tasks$/);
		await pg.locator('[data-testid=task-row]').nth(2).waitFor();
		await shot(pg, `workspace-tasks-${lang}`);
		await pg.getByTestId('task-new').click();
		await pg.locator('[data-testid=task-file]').first().waitFor();
		await shot(pg, `workspace-task-new-${lang}`);
		await cancel();
		await pg.locator('[data-testid=task-edit]').first().click();
		await shot(pg, `workspace-task-edit-${lang}`);
		await cancel();
		await pg.locator('[data-testid=task-delete]').first().click();
		await shot(pg, `workspace-task-delete-${lang}`);
		await cancel();

		await pg.getByTestId('tab-members').click();
		await settled(pg, /\/members$/);
		await pg.locator('[data-testid=member-row]').nth(1).waitFor();
		await shot(pg, `workspace-members-${lang}`);
		await pg.getByTestId('member-add').click();
		await shot(pg, `workspace-member-add-${lang}`);
		await cancel();
		await pg.locator(`[data-testid=member-remove][data-user="${viewer.id}"]`).click();
		await shot(pg, `workspace-member-remove-${lang}`);
		await cancel();

		await pg.getByTestId('tab-settings').click();
		await settled(pg, /\/settings$/);
		await pg.getByTestId('settings-save').waitFor();
		await shot(pg, `workspace-settings-${lang}`);
		await pg.getByTestId('project-delete').click();
		await pg.getByTestId('confirm-name').fill('wrong name');
		await pg.locator('dialog[open] button[type=submit]').click();
		await pg.locator('dialog[open] .notice-error').waitFor();
		await shot(pg, `workspace-project-delete-${lang}`);
		await cancel();

		assert.deepEqual(await missingKeys(pg), [], `${lang}: missing catalogue keys`);
		noErrors(pg, [409]);
		await pg.context().close();
	}
});

test('settings: rename and relabel the project; delete it after typing its name', async () => {
	const pg = await adminPage('en');
	await open(pg, `projects/${pid}/settings`);
	await pg.getByTestId('settings-name').fill('Q3 Report 2026 (final)');
	await pg.getByTestId('labels-input').fill('finance, archived');
	await pg.getByTestId('settings-save').click();
	await pg.getByTestId('project-title').filter({ hasText: '(final)' }).waitFor();
	const p = await ok(await admin.request('GET', `${P}/${pid}`));
	assert.equal(p.name, 'Q3 Report 2026 (final)');
	assert.deepEqual(p.labels, ['finance', 'archived']);
	await pg.getByTestId('project-delete').click();
	await pg.getByTestId('confirm-name').fill('Q3 Report 2026');
	await pg.locator('dialog[open] button[type=submit]').click();
	await pg.locator('dialog[open] .notice-error').filter({ hasText: 'does not match' }).waitFor();
	assert.equal((await admin.request('GET', `${P}/${pid}`)).status, 200, 'not deleted on a wrong name');
	await pg.getByTestId('confirm-name').fill('Q3 Report 2026 (final)');
	await submitDialog(pg);
	await settled(pg, /#\/projects$/);
	await pg.locator('[data-testid=project-link]').first().waitFor();
	assert.equal(await pg.locator(`[data-testid=project-link][data-name="Q3 Report 2026 (final)"]`).count(), 0);
	assert.equal((await admin.request('GET', `${P}/${pid}`)).status, 404);
	noErrors(pg);
	await pg.context().close();
});
