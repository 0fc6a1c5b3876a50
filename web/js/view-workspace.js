// Workspace: projects, their folders and files (upload with progress,
// download, versions, labels), tasks, members and project settings.
//
//   #/projects                          project list (label filter, paging)
//   #/projects/<pid>[/files]?dir=&label= files of a folder, with the folder tree
//   #/projects/<pid>/tasks?status=&assignee=&label=
//   #/projects/<pid>/members
//   #/projects/<pid>/settings           owners only
//
// What a caller may change follows their project role (viewer < editor <
// owner; projects.all acts as owner) and files.write; viewers see no
// button that changes anything.
import { h, clear, field, input, select, button, table, say, notice, confirmDialog,
	formDialog, fmtTime, fmtBytes, errorText } from './dom.js';
import { t, lang } from './i18n.js';
import { api, upload, touch } from './api.js';

const B = '/api/v1/projects';
const PAGE = 50;
const ROLES = ['owner', 'editor', 'viewer'];
const STATUSES = ['open', 'in_progress', 'done'];
const RANK = { viewer: 1, editor: 2, owner: 3 };
// a browser cannot read the answer to a refused body over this size (the
// server closes the connection), see docs/api.md "Refused bodies"
const REFUSED_BODY_READ = 8 * 1024 * 1024;

// ---------------------------------------------------------------- helpers

function enc(s) { return encodeURIComponent(s); }

function hashOf(parts, query) {
	const q = new URLSearchParams();
	for (const [k, v] of Object.entries(query || {})) if (v) q.set(k, v);
	const s = q.toString();
	return `projects/${parts.map(enc).join('/')}${s ? `?${s}` : ''}`;
}

// "a, b、c" -> ['a', 'b', 'c'] (ASCII and Japanese commas), no repeats
function parseLabels(s) {
	return [...new Set(String(s || '').split(/[,、，]/).map(x => x.trim()).filter(Boolean))];
}

function labelBadges(labels) {
	if (!labels || !labels.length) return h('span', { class: 'small' }, '—');
	return h('span', { class: 'labels' }, labels.map(l => h('span', { class: 'badge label' }, l)));
}

function labelsField(value) {
	const el = input({ value: (value || []).join(', '), 'data-testid': 'labels-input',
		autocomplete: 'off' });
	return [el, field(t('common.labels'), el, t('common.labels_hint'))];
}

function textarea(attrs, value) {
	const el = h('textarea', attrs);
	el.value = value || '';
	return el;
}

const byName = (a, b) => a.name.localeCompare(b.name, lang());

async function allPages(path, query, max) {
	const items = [];
	let cursor = null;
	do {
		const r = await api('GET', path, null, Object.assign({}, query || {}, { limit: 200, cursor }));
		items.push(...r.items);
		cursor = r.next_cursor;
	} while (cursor && items.length < (max || 1000));
	return items;
}

// A list that pages with next_cursor: draw(items) makes the table; a
// "Load more" button fetches the next page.  Returns load(reset).  Loads
// may overlap (a reload while the first load is on its way): only the
// newest reset and the pages after it are drawn, and "Load more" is
// ignored while a page is on its way, so a late answer never draws an
// older list or adds a page twice.
function pager(box, fetchPage, draw, testid) {
	let items = [];
	let cursor = null;
	let gen = 0;
	let paging = false;
	const list = h('div');
	const msg = h('div', { class: 'msg' });
	const more = h('div', { class: 'actions' });
	clear(box).append(list, msg, more);
	async function load(reset) {
		if (!reset && paging) return;
		const mine = reset ? ++gen : gen;
		let r;
		say(msg, null, null);
		if (reset) clear(more);
		else paging = true;
		try {
			r = await fetchPage(reset ? null : cursor);
		} catch (e) {
			if (mine === gen) say(msg, 'error', errorText(e));
			return;
		} finally {
			if (!reset) paging = false;
		}
		if (mine !== gen) return;       /* a newer reload is on its way */
		items = reset ? r.items : items.concat(r.items);
		cursor = r.next_cursor;
		clear(list).append(draw(items));
		clear(more);
		if (cursor) more.append(button(t('common.more'), () => load(false), 'small',
			{ 'data-testid': `${testid}-more` }));
	}
	return load;
}

// A dialog that only shows something, with a Close button.
function infoDialog(title, content, extra) {
	return new Promise(resolve => {
		const dlg = h('dialog', { class: 'dialog wide-dialog', 'aria-labelledby': 'dlg-title' });
		const done = v => { dlg.close(); dlg.remove(); resolve(v); };
		dlg.append(h('h2', { id: 'dlg-title' }, title), h('div', { class: 'dialog-body' }, content),
			h('div', { class: 'actions' }, (extra || []).map(([label, v, cls, attrs]) =>
				button(label, () => done(v), cls, attrs)),
			button(t('common.close'), () => done(null), extra && extra.length ? '' : 'primary',
				{ 'data-testid': 'dialog-close' })));
		dlg.addEventListener('cancel', e => { e.preventDefault(); done(null); });
		document.body.appendChild(dlg);
		dlg.showModal();
	});
}

// formDialog with the submit button shown as dangerous
function dangerForm(title, build, okLabel) {
	return formDialog(title, body => {
		const submit = build(body);
		queueMicrotask(() => {
			const b = body.parentElement && body.parentElement.querySelector('button[type=submit]');
			if (b) b.className = 'danger';
		});
		return submit;
	}, okLabel);
}

function roleBadge(role) {
	const cls = role === 'owner' ? 'ok' : role === 'viewer' ? '' : 'info';
	return h('span', { class: `badge role ${cls}` }, role ? t(`workspace.role_${role}`) : t('workspace.role_admin'));
}

function statusBadge(s) {
	const cls = s === 'done' ? 'ok' : s === 'in_progress' ? 'warn' : '';
	return h('span', { class: `badge ${cls}` }, t(`workspace.status_${s}`));
}

// A due date: the date part in the tenant's zone (the server sends the
// time in that zone already).
function fmtDue(s) {
	if (!s) return '—';
	const [y, m, d] = String(s).slice(0, 10).split('-');
	return lang() === 'ja' ? `${y}/${m}/${d}` : `${d}/${m}/${y}`;
}

// 'YYYY-MM-DD' -> RFC 3339 at 00:00 in the tenant's zone
function dueValue(date, zone) {
	if (!date) return null;
	let off = '+00:00';
	try {
		const parts = new Intl.DateTimeFormat('en-US', { timeZone: zone || 'UTC', timeZoneName: 'longOffset' })
			.formatToParts(new Date(`${date}T12:00:00Z`));
		const name = (parts.find(p => p.type === 'timeZoneName') || {}).value || 'GMT';
		const m = name.match(/GMT([+-]\d{2}):?(\d{2})?/);
		if (m) off = `${m[1]}:${m[2] || '00'}`;
	} catch (e) { /* unknown zone: UTC */ }
	return `${date}T00:00:00${off}`;
}

// ---------------------------------------------------------------- project list

async function projectList(ctx) {
	const { main } = ctx;
	const label = ctx.query.get('label') || '';
	const canCreate = ctx.hasPerm('files.write');
	main.append(h('div', { class: 'page-head' }, h('h1', {}, t('workspace.projects')),
		canCreate ? button(t('workspace.new_project'), () => newProject(ctx), 'primary',
			{ 'data-testid': 'project-new' }) : null));
	const filter = input({ type: 'search', value: label, 'data-testid': 'project-label-filter' });
	const form = h('form', { class: 'toolbar', role: 'search' },
		field(t('workspace.filter_label'), filter),
		h('button', { type: 'submit', 'data-testid': 'project-filter' }, t('common.filter')),
		label ? h('a', { href: '#/projects', class: 'button link-button' }, t('workspace.clear_filter')) : null);
	form.addEventListener('submit', e => {
		e.preventDefault();
		const v = filter.value.trim();
		ctx.navigate(v ? `projects?label=${enc(v)}` : 'projects');
	});
	const box = h('div');
	main.append(form, box);
	const load = pager(box, cursor => api('GET', B, null, { label, limit: PAGE, cursor }),
		items => table([
			{ label: t('common.name'), cell: p => h('a', { href: `#/projects/${enc(p.id)}`,
				class: 'strong', 'data-testid': 'project-link', 'data-name': p.name }, p.name) },
			{ label: t('workspace.description'), cell: p => h('span', { class: 'clip', title: p.description || '' },
				p.description || '—') },
			{ label: t('common.labels'), cell: p => labelBadges(p.labels) },
			{ label: t('workspace.my_role'), cell: p => roleBadge(p.role) },
			{ label: t('common.updated'), cell: p => fmtTime(p.updated), class: 'nowrap' },
		], [...items].sort(byName), label ? t('workspace.no_match') : t('workspace.no_projects')), 'projects');
	await load(true);
}

function newProject(ctx) {
	formDialog(t('workspace.new_project'), body => {
		const name = input({ required: true, maxlength: 255, 'data-testid': 'project-name' });
		const desc = textarea({ rows: 3, 'data-testid': 'project-description' });
		const [labels, lf] = labelsField([]);
		body.append(field(t('common.name'), name), field(t('workspace.description'), desc), lf);
		return async () => {
			const p = await api('POST', B, { name: name.value.trim(), description: desc.value,
				labels: parseLabels(labels.value) });
			ctx.navigate(hashOf([p.id]));
		};
	}, t('common.create'));
}

// ---------------------------------------------------------------- project page

async function projectPage(ctx) {
	const pid = ctx.params[0];
	const tab = ctx.params[1] || 'files';
	const project = await api('GET', `${B}/${enc(pid)}`);
	const admin = ctx.hasPerm('projects.all');
	const rank = Math.max(project.role ? RANK[project.role] : 0, admin ? RANK.owner : 0);
	const write = ctx.hasPerm('files.write');
	const P = {
		ctx, pid, project,
		canEdit: write && rank >= RANK.editor,
		canManage: write && rank >= RANK.owner,
		users: new Map(),
		members: null,
	};
	if (ctx.hasPerm('users.read')) {
		try {
			for (const u of await allPages('/api/v1/users', {}, 1000)) P.users.set(u.id, u);
		} catch (e) { /* names fall back to ids */ }
	}
	document.title = `${project.name} — kura`;
	const tabs = [['files', 'workspace.tab_files'], ['tasks', 'workspace.tab_tasks'],
		['members', 'workspace.tab_members']];
	if (P.canManage) tabs.push(['settings', 'workspace.tab_settings']);
	const current = tabs.find(([k]) => k === tab) ? tab : 'files';
	ctx.main.append(
		h('div', { class: 'crumbs' }, h('a', { href: '#/projects' }, t('workspace.projects')), ' › '),
		h('div', { class: 'page-head' },
			h('h1', { 'data-testid': 'project-title' }, project.name),
			roleBadge(project.role)),
		project.description ? h('p', { class: 'project-desc' }, project.description) : null,
		project.labels.length ? h('p', { class: 'project-labels' }, labelBadges(project.labels)) : null,
		h('nav', { class: 'tabs', 'aria-label': t('workspace.tabs') }, tabs.map(([k, key]) =>
			h('a', { href: `#/${hashOf([pid, k])}`, class: k === current ? 'active' : '',
				'aria-current': k === current ? 'page' : null, 'data-testid': `tab-${k}` }, t(key)))));
	const box = h('div', { class: 'tab-body' });
	ctx.main.append(box);
	if (current === 'files') await filesTab(P, box);
	else if (current === 'tasks') await tasksTab(P, box);
	else if (current === 'members') await membersTab(P, box);
	else await settingsTab(P, box);
}

async function loadMembers(P) {
	if (!P.members) P.members = await allPages(`${B}/${enc(P.pid)}/members`, {}, 1000);
	return P.members;
}

function userName(P, uid) {
	if (!uid) return '—';
	const me = P.ctx.me;
	if (uid === me.id) return t('workspace.you', { name: me.display_name || me.login_id });
	const u = P.users.get(uid);
	return u ? (u.display_name || u.login_id) : uid;
}

function userCell(P, uid) {
	const u = P.users.get(uid);
	if (uid === P.ctx.me.id || u)
		return h('span', {}, h('span', { class: 'strong' }, userName(P, uid)),
			u ? h('span', { class: 'small sub' }, u.login_id) : null);
	return h('code', { class: 'small' }, uid);
}

// ---------------------------------------------------------------- files

async function folderPath(P, did) {
	const path = [];
	let id = did;
	for (let i = 0; id && i < 64; i++) {
		const d = await api('GET', `${B}/${enc(P.pid)}/directories/${enc(id)}`);
		path.unshift(d);
		id = d.parent_id;
	}
	return path;
}

function children(P, parent) {
	return allPages(`${B}/${enc(P.pid)}/directories`, { parent_id: parent }, 1000);
}

// The folder tree: the top level, and open down to the current folder;
// other folders open on demand.
async function folderTree(P, path, dir) {
	const open = new Set(path.map(d => d.id));
	const link = (id, name) => h('a', { href: `#/${hashOf([P.pid, 'files'], { dir: id })}`,
		class: (id || null) === (dir || null) ? 'active' : '',
		'aria-current': (id || null) === (dir || null) ? 'page' : null,
		'data-testid': 'tree-folder', 'data-name': name }, name);
	async function list(parent) {
		const items = (await children(P, parent)).sort(byName);
		if (!items.length) return null;
		return h('ul', {}, await Promise.all(items.map(node)));
	}
	async function node(d) {
		const li = h('li', {});
		let sub = open.has(d.id) ? await list(d.id) : null;
		const toggle = button(open.has(d.id) ? '▾' : '▸', async () => {
			if (sub) {
				sub.remove(); sub = null;
				toggle.textContent = '▸';
				toggle.setAttribute('aria-expanded', 'false');
				return;
			}
			sub = await list(d.id);
			toggle.textContent = '▾';
			toggle.setAttribute('aria-expanded', 'true');
			if (sub) li.append(sub);
			else toggle.classList.add('leaf');
		}, 'twisty', { 'aria-expanded': open.has(d.id) ? 'true' : 'false',
			'aria-label': t('workspace.toggle_folder', { name: d.name }) });
		if (open.has(d.id) && !sub) toggle.classList.add('leaf');
		li.append(h('div', { class: 'tree-row' }, toggle, link(d.id, d.name)));
		if (sub) li.append(sub);
		return li;
	}
	const top = await list(null);
	return h('nav', { class: 'tree panel', 'aria-label': t('workspace.folders'), 'data-testid': 'tree' },
		h('h2', {}, t('workspace.folders')),
		h('ul', {}, h('li', {}, h('div', { class: 'tree-row' }, h('span', { class: 'twisty-space' }),
			link(null, t('workspace.top'))), top)));
}

async function filesTab(P, box) {
	const { ctx, pid } = P;
	const dir = ctx.query.get('dir') || null;
	const label = ctx.query.get('label') || '';
	const path = dir ? await folderPath(P, dir) : [];
	const cur = path.length ? path[path.length - 1] : null;
	const tree = await folderTree(P, path, dir);

	const msg = h('div', { class: 'msg', 'data-testid': 'files-msg' });
	const uploads = h('div', { class: 'uploads', 'aria-live': 'polite', 'data-testid': 'uploads' });
	const listBox = h('div');
	const usageBox = h('div', { class: 'usage small', 'data-testid': 'usage' });
	let usage = null;

	async function loadUsage() {
		if (!ctx.hasPerm('settings.read')) return;
		try {
			usage = await api('GET', '/api/v1/usage');
			clear(usageBox).append(t('workspace.usage', { used: fmtBytes(usage.bytes),
				max: fmtBytes(usage.max_bytes), files: usage.files, max_files: usage.max_files }));
		} catch (e) { usage = null; }
	}

	// uploads: one row per file with a progress bar
	let target = null;   // a file id: the next upload is a new version of it
	const picker = P.canEdit ? h('input', { type: 'file', multiple: true, hidden: true,
		class: 'hidden-input', 'data-testid': 'upload-input', 'aria-hidden': 'true', tabindex: '-1' }) : null;
	if (picker) picker.addEventListener('change', () => {
		const files = [...picker.files];
		const fid = target;
		target = null;
		picker.value = '';
		if (files.length) uploadAll(files, fid);
	});
	function choose(fid) {
		target = fid || null;
		picker.click();
	}
	function uploadRow(name) {
		const prog = h('progress', { class: 'progress', max: 100, value: 0, 'data-testid': 'upload-progress',
			'aria-label': t('workspace.upload_progress', { name }) });
		const pct = h('span', { class: 'upload-pct', 'data-testid': 'upload-pct' }, '0%');
		const status = h('div', { class: 'upload-status', 'data-testid': 'upload-status' }, t('workspace.uploading'));
		const row = h('div', { class: 'upload-row', 'data-testid': 'upload-row', 'data-name': name },
			h('div', { class: 'upload-name' }, name), prog, pct, status);
		uploads.append(row);
		return {
			progress(loaded, total) {
				if (total > 0) {
					prog.max = total;
					prog.value = Math.min(loaded, total);
				}
				pct.textContent = `${total > 0 ? Math.floor(100 * Math.min(loaded, total) / total) : 100}%`;
			},
			done(v) {
				prog.max = Math.max(v.size, 1);
				prog.value = Math.max(v.size, 1);
				pct.textContent = '100%';
				row.classList.add('ok');
				clear(status).append(h('span', { class: 'badge ok' }, t('workspace.uploaded')), ' ',
					t('workspace.uploaded_version', { version: v.version, size: fmtBytes(v.size) }));
			},
			fail(err, size) {
				row.classList.add('failed');
				const box = notice('error', err.code === 'network' && size > REFUSED_BODY_READ
					? t('workspace.upload_cut') : errorText(err));
				if (err.code === 'quota_exceeded') box.append(h('div', {}, t('workspace.quota_hint')));
				clear(status).append(box);
			},
		};
	}
	// the uploads' data-state: busy while a batch runs, done once every
	// batch has finished, the list included (the tests wait for it)
	let batches = 0;
	async function uploadAll(files, fid) {
		batches += 1;
		uploads.dataset.state = 'busy';
		try {
			await uploadBatch(files, fid);
		} finally {
			batches -= 1;
			if (!batches) uploads.dataset.state = 'done';
		}
	}
	async function uploadBatch(files, fid) {
		say(msg, null, null);
		await loadUsage();
		for (const file of files) {
			const row = uploadRow(file.name);
			let id = fid, created = null;
			try {
				if (usage && usage.bytes + file.size > usage.max_bytes) {
					const e = new Error('quota');
					e.code = 'quota_exceeded';
					throw e;
				}
				if (!fid) {
					// a new file, or else a new version of the file of that name
					try {
						created = (await api('POST', `${B}/${enc(pid)}/files`, { name: file.name,
							directory_id: dir })).id;
						id = created;
					} catch (e) {
						if (e.code !== 'name_taken') throw e;
						id = (await api('POST', `${B}/${enc(pid)}/files`, { name: file.name,
							directory_id: dir, on_conflict: 'new_version' })).id;
					}
				}
				const r = await upload(`${B}/${enc(pid)}/files/${enc(id)}/content`, file,
					(loaded, total) => row.progress(loaded, total));
				row.done(r.version);
			} catch (err) {
				row.fail(err, file.size);
				// a refused first upload leaves no empty file behind
				if (created) await api('DELETE', `${B}/${enc(pid)}/files/${enc(created)}`).catch(() => {});
			}
		}
		await loadUsage();
		await loadFiles(true);
	}

	const contentUrl = (f, version) => `${B}/${enc(pid)}/files/${enc(f.id)}/content${version ? `?version=${version}` : ''}`;
	const download = (f, version, cls, label) => h('a', { href: contentUrl(f, version), download: f.name,
		class: cls || 'button small', onclick: () => touch(), 'data-testid': version ? 'version-download' : 'file-download',
		'data-name': f.name, 'data-version': version || null,
		'aria-label': version ? t('workspace.download_version_of', { name: f.name, version })
			: t('workspace.download_of', { name: f.name }) }, label || t('common.download'));

	async function versions(f) {
		let full;
		try {
			full = await api('GET', `${B}/${enc(pid)}/files/${enc(f.id)}`);
		} catch (e) {
			say(msg, 'error', errorText(e));
			return;
		}
		const facts = h('dl', { class: 'facts' },
			h('dt', {}, t('common.name')), h('dd', {}, full.name),
			h('dt', {}, t('workspace.kind')), h('dd', {}, t(`workspace.kind_${full.kind === 'generated' ? 'generated' : 'user'}`)),
			h('dt', {}, t('workspace.current_version')), h('dd', {}, full.current_version ? String(full.current_version) : t('workspace.no_content')),
			h('dt', {}, t('workspace.created_by')), h('dd', {}, userName(P, full.created_by)),
			h('dt', {}, t('common.created')), h('dd', {}, fmtTime(full.created)));
		const list = table([
			{ label: t('workspace.version'), cell: v => h('span', { class: 'strong' },
				`v${v.version}`, v.version === full.current_version ? h('span', { class: 'badge ok current' }, t('workspace.current')) : null) },
			{ label: t('workspace.size'), cell: v => fmtBytes(v.size), class: 'num nowrap' },
			{ label: t('workspace.uploaded_by'), cell: v => userName(P, v.uploaded_by) },
			{ label: t('workspace.uploaded_at'), cell: v => fmtTime(v.created), class: 'small-time' },
			{ label: 'SHA-256', cell: v => h('code', { class: 'hash', title: v.sha256 }, v.sha256.slice(0, 10) + '…') },
			{ label: t('common.actions'), cell: v => download(full, v.version) },
		], full.versions || [], t('workspace.no_versions'));
		const r = await infoDialog(t('workspace.versions_of', { name: full.name }),
			h('div', { 'data-testid': 'versions' }, facts, list),
			P.canEdit ? [[t('workspace.upload_version'), 'upload', 'primary', { 'data-testid': 'version-upload' }]] : []);
		if (r === 'upload') choose(full.id);
	}

	function editFile(f) {
		formDialog(t('workspace.edit_file'), body => {
			const name = input({ value: f.name, required: true, maxlength: 255, 'data-testid': 'file-name' });
			const [labels, lf] = labelsField(f.labels);
			body.append(field(t('common.name'), name), lf);
			return async () => {
				await api('PATCH', `${B}/${enc(pid)}/files/${enc(f.id)}`,
					{ name: name.value.trim(), labels: parseLabels(labels.value) });
				await loadFiles(true);
			};
		});
	}

	async function deleteFile(f) {
		if (!(await confirmDialog(t('workspace.delete_file'), t('workspace.delete_file_text', { name: f.name }),
			t('common.delete'), true))) return;
		try {
			await api('DELETE', `${B}/${enc(pid)}/files/${enc(f.id)}`);
			say(msg, 'ok', t('workspace.file_deleted', { name: f.name }));
			await loadUsage();
			await loadFiles(true);
		} catch (e) {
			say(msg, 'error', errorText(e));
		}
	}

	const fileActions = f => h('div', { class: 'row-actions' },
		f.current_version ? download(f) : null,
		P.canEdit ? button(t('common.edit'), () => editFile(f), 'small', { 'data-testid': 'file-edit', 'data-name': f.name }) : null,
		P.canEdit ? button(t('common.delete'), () => deleteFile(f), 'small danger', { 'data-testid': 'file-delete', 'data-name': f.name }) : null);

	const loadFiles = pager(listBox, cursor => api('GET', `${B}/${enc(pid)}/files`, null,
		{ directory_id: dir, label, limit: PAGE, cursor }),
	items => table([
		{ label: t('common.name'), class: 'name-col', cell: f => h('span', { class: 'file-name', 'data-testid': 'file-row', 'data-name': f.name },
			button(f.name, () => versions(f), 'link file-open', { title: t('workspace.show_versions'),
				'data-testid': 'file-versions', 'data-name': f.name }),
			f.kind === 'generated' ? h('span', { class: 'badge info' }, t('workspace.kind_generated')) : null) },
		{ label: t('workspace.size'), cell: f => f.current_version ? fmtBytes(f.size) : '—', class: 'num nowrap' },
		{ label: t('workspace.version'), cell: f => f.current_version ? h('span', { 'data-testid': 'file-version' }, `v${f.current_version}`)
			: h('span', { class: 'small' }, t('workspace.no_content')), class: 'nowrap' },
		{ label: t('common.updated'), cell: f => fmtTime(f.updated), class: 'small-time' },
		{ label: t('common.labels'), cell: f => labelBadges(f.labels) },
		{ label: t('common.actions'), cell: fileActions },
	], [...items].sort(byName), label ? t('workspace.no_match') : t('workspace.no_files')), 'files');

	// folder actions
	function newFolder() {
		formDialog(t('workspace.new_folder'), body => {
			const name = input({ required: true, maxlength: 255, 'data-testid': 'folder-name' });
			const [labels, lf] = labelsField([]);
			body.append(h('p', { class: 'small' }, t('workspace.new_folder_in', { name: cur ? cur.name : t('workspace.top') })),
				field(t('common.name'), name), lf);
			return async () => {
				const d = await api('POST', `${B}/${enc(pid)}/directories`,
					{ name: name.value.trim(), parent_id: dir, labels: parseLabels(labels.value) });
				ctx.navigate(hashOf([pid, 'files'], { dir: d.id }));
			};
		}, t('common.create'));
	}
	function editFolder() {
		formDialog(t('workspace.edit_folder'), body => {
			const name = input({ value: cur.name, required: true, maxlength: 255, 'data-testid': 'folder-name' });
			const [labels, lf] = labelsField(cur.labels);
			body.append(field(t('common.name'), name), lf);
			return async () => {
				await api('PATCH', `${B}/${enc(pid)}/directories/${enc(cur.id)}`,
					{ name: name.value.trim(), labels: parseLabels(labels.value) });
				ctx.route();
			};
		});
	}
	async function deleteFolder() {
		if (!(await confirmDialog(t('workspace.delete_folder'), t('workspace.delete_folder_text', { name: cur.name }),
			t('common.delete'), true))) return;
		const url = `${B}/${enc(pid)}/directories/${enc(cur.id)}`;
		const parent = hashOf([pid, 'files'], { dir: cur.parent_id });
		try {
			await api('DELETE', url);
			ctx.navigate(parent);
		} catch (e) {
			if (e.code !== 'not_empty') { say(msg, 'error', errorText(e)); return; }
			if (!(await confirmDialog(t('workspace.folder_not_empty'), t('workspace.folder_not_empty_text', { name: cur.name }),
				t('workspace.delete_all'), true))) return;
			try {
				await api('DELETE', url, null, { recursive: 'true' });
				ctx.navigate(parent);
			} catch (e2) {
				say(msg, 'error', errorText(e2));
			}
		}
	}

	// label filter
	const filter = input({ type: 'search', value: label, 'data-testid': 'file-label-filter' });
	const filterForm = h('form', { class: 'filter', role: 'search' },
		field(t('workspace.filter_label'), filter),
		h('button', { type: 'submit', 'data-testid': 'file-filter' }, t('common.filter')),
		label ? h('a', { href: `#/${hashOf([pid, 'files'], { dir })}`, class: 'button link-button',
			'data-testid': 'file-filter-clear' }, t('workspace.clear_filter')) : null);
	filterForm.addEventListener('submit', e => {
		e.preventDefault();
		ctx.navigate(hashOf([pid, 'files'], { dir, label: filter.value.trim() }));
	});

	const crumbs = h('div', { class: 'crumbs', 'data-testid': 'folder-crumbs' },
		h('a', { href: `#/${hashOf([pid, 'files'])}` }, t('workspace.top')),
		path.map(d => [' / ', d.id === dir ? h('span', { 'aria-current': 'page' }, d.name)
			: h('a', { href: `#/${hashOf([pid, 'files'], { dir: d.id })}` }, d.name)]));
	const tools = h('div', { class: 'toolbar files-tools' },
		P.canEdit ? button(t('workspace.upload'), () => choose(null), 'primary', { 'data-testid': 'upload' }) : null,
		P.canEdit ? button(t('workspace.new_folder'), newFolder, '', { 'data-testid': 'folder-new' }) : null,
		P.canEdit && cur ? button(t('workspace.edit_folder'), editFolder, '', { 'data-testid': 'folder-edit' }) : null,
		P.canEdit && cur ? button(t('workspace.delete_folder'), deleteFolder, 'danger', { 'data-testid': 'folder-delete' }) : null,
		h('span', { class: 'spacer' }), filterForm);
	const right = h('section', { class: 'files-main', 'aria-labelledby': 'h-folder' },
		crumbs,
		h('h2', { id: 'h-folder', class: 'folder-title' }, cur ? cur.name : t('workspace.top'),
			cur && cur.labels.length ? h('span', { class: 'folder-labels' }, labelBadges(cur.labels)) : null),
		tools, picker, msg, uploads, listBox, usageBox);
	box.append(h('div', { class: 'cols' }, tree, right));
	await Promise.all([loadFiles(true), loadUsage()]);
}

// ---------------------------------------------------------------- tasks

// Every file of the project with its folder path (for linking to tasks).
async function allFiles(P) {
	const out = [];
	const walk = async (did, prefix, depth) => {
		const files = await allPages(`${B}/${enc(P.pid)}/files`, { directory_id: did }, 1000);
		for (const f of files) out.push({ id: f.id, name: f.name, path: prefix + f.name });
		if (depth > 16 || out.length > 2000) return;
		for (const d of await children(P, did)) await walk(d.id, `${prefix}${d.name}/`, depth + 1);
	};
	await walk(null, '', 0);
	out.sort((a, b) => a.path.localeCompare(b.path));
	return out;
}

// open work first, then by due date (none last), then by title
function taskOrder(a, b) {
	const done = (a.status === 'done') - (b.status === 'done');
	if (done) return done;
	const ad = a.due ? Date.parse(a.due.replace(/(\.\d{3})\d+/, '$1')) : Infinity;
	const bd = b.due ? Date.parse(b.due.replace(/(\.\d{3})\d+/, '$1')) : Infinity;
	if (ad !== bd) return ad < bd ? -1 : 1;
	return a.title.localeCompare(b.title, lang());
}

async function tasksTab(P, box) {
	const { ctx, pid } = P;
	const q = { status: ctx.query.get('status') || '', assignee: ctx.query.get('assignee') || '',
		label: ctx.query.get('label') || '' };
	const [members, files] = await Promise.all([loadMembers(P), allFiles(P)]);
	const fileName = new Map(files.map(f => [f.id, f.path]));
	const msg = h('div', { class: 'msg', 'data-testid': 'tasks-msg' });
	const listBox = h('div');

	const status = select([['', t('common.all')], ...STATUSES.map(s => [s, t(`workspace.status_${s}`)])], q.status,
		{ 'data-testid': 'task-status-filter' });
	const assignee = select([['', t('common.all')], ...members.map(m => [m.user_id, userName(P, m.user_id)])], q.assignee,
		{ 'data-testid': 'task-assignee-filter' });
	const label = input({ type: 'search', value: q.label, 'data-testid': 'task-label-filter' });
	const filters = h('form', { class: 'toolbar', role: 'search' },
		field(t('common.status'), status), field(t('workspace.assignee'), assignee),
		field(t('workspace.filter_label'), label),
		h('button', { type: 'submit', 'data-testid': 'task-filter' }, t('common.filter')),
		q.status || q.assignee || q.label ? h('a', { href: `#/${hashOf([pid, 'tasks'])}`, class: 'button link-button' },
			t('workspace.clear_filter')) : null,
		h('span', { class: 'spacer' }),
		P.canEdit ? button(t('workspace.new_task'), () => taskDialog(null), 'primary', { 'data-testid': 'task-new' }) : null);
	filters.addEventListener('submit', e => {
		e.preventDefault();
		ctx.navigate(hashOf([pid, 'tasks'], { status: status.value, assignee: assignee.value, label: label.value.trim() }));
	});

	function taskDialog(task) {
		return formDialog(task ? t('workspace.edit_task') : t('workspace.new_task'), body => {
			const title = input({ value: task ? task.title : '', required: true, maxlength: 255, 'data-testid': 'task-title' });
			const desc = textarea({ rows: 3, 'data-testid': 'task-description' }, task ? task.description : '');
			const st = select(STATUSES.map(s => [s, t(`workspace.status_${s}`)]), task ? task.status : 'open',
				{ 'data-testid': 'task-status' });
			const who = select([['', t('workspace.unassigned')], ...members.map(m => [m.user_id, userName(P, m.user_id)])],
				task ? task.assignee_id || '' : '', { 'data-testid': 'task-assignee' });
			const due = input({ type: 'date', value: task && task.due ? task.due.slice(0, 10) : '', 'data-testid': 'task-due' });
			const [labels, lf] = labelsField(task ? task.labels : []);
			const linked = new Set(task ? task.file_ids : []);
			const checks = files.map(f => {
				const cb = h('input', { type: 'checkbox', value: f.id, checked: linked.has(f.id), id: `tf-${f.id}`,
					'data-testid': 'task-file', 'data-name': f.path });
				return h('div', { class: 'check' }, cb, h('label', { for: cb.id }, f.path));
			});
			const fileBox = h('fieldset', { class: 'checklist' }, h('legend', {}, t('workspace.linked_files')),
				checks.length ? checks : h('p', { class: 'empty' }, t('workspace.no_files_in_project')));
			body.append(field(t('workspace.task_title'), title), field(t('workspace.description'), desc),
				h('div', { class: 'field-row' }, field(t('common.status'), st), field(t('workspace.assignee'), who),
					field(t('workspace.due'), due)), lf, fileBox);
			return async () => {
				const b = {
					title: title.value.trim(), description: desc.value, status: st.value,
					assignee_id: who.value || null, due: dueValue(due.value, ctx.me.tenant.timezone),
					labels: parseLabels(labels.value),
					file_ids: [...fileBox.querySelectorAll('input[type=checkbox]:checked')].map(c => c.value),
				};
				if (task) await api('PATCH', `${B}/${enc(pid)}/tasks/${enc(task.id)}`, b);
				else await api('POST', `${B}/${enc(pid)}/tasks`, b);
				await loadTasks(true);
			};
		}, task ? t('common.save') : t('common.create'));
	}

	async function setStatus(task, sel) {
		say(msg, null, null);
		try {
			await api('PATCH', `${B}/${enc(pid)}/tasks/${enc(task.id)}`, { status: sel.value });
			task.status = sel.value;
			say(msg, 'ok', t('workspace.task_status_saved', { title: task.title, status: t(`workspace.status_${sel.value}`) }));
		} catch (e) {
			sel.value = task.status;
			say(msg, 'error', errorText(e));
		}
	}

	async function deleteTask(task) {
		if (!(await confirmDialog(t('workspace.delete_task'), t('workspace.delete_task_text', { title: task.title }),
			t('common.delete'), true))) return;
		try {
			await api('DELETE', `${B}/${enc(pid)}/tasks/${enc(task.id)}`);
			say(msg, 'ok', t('workspace.task_deleted', { title: task.title }));
			await loadTasks(true);
		} catch (e) {
			say(msg, 'error', errorText(e));
		}
	}

	const loadTasks = pager(listBox, cursor => api('GET', `${B}/${enc(pid)}/tasks`, null,
		{ status: q.status, assignee_id: q.assignee, label: q.label, limit: PAGE, cursor }),
	items => table([
		{ label: t('workspace.task_title'), cell: k => h('div', { 'data-testid': 'task-row', 'data-title': k.title },
			h('div', { class: 'strong' }, k.title),
			k.description ? h('div', { class: 'small clip task-desc', title: k.description }, k.description) : null) },
		{ label: t('common.status'), cell: k => P.canEdit
			? select(STATUSES.map(s => [s, t(`workspace.status_${s}`)]), k.status,
				{ class: 'inline-select', 'aria-label': t('workspace.status_of', { title: k.title }), 'data-testid': 'task-row-status',
					'data-title': k.title, onchange: e => setStatus(k, e.target) })
			: statusBadge(k.status) },
		{ label: t('workspace.assignee'), cell: k => k.assignee_id ? userName(P, k.assignee_id) : h('span', { class: 'small' }, t('workspace.unassigned')) },
		{ label: t('workspace.due'), cell: k => fmtDue(k.due), class: 'nowrap' },
		{ label: t('common.labels'), cell: k => labelBadges(k.labels) },
		{ label: t('workspace.linked_files'), cell: k => k.file_ids.length
			? h('ul', { class: 'plain' }, k.file_ids.map(id => h('li', {}, fileName.get(id) || id)))
			: h('span', { class: 'small' }, '—') },
		{ label: t('common.actions'), cell: k => P.canEdit ? h('div', { class: 'row-actions' },
			button(t('common.edit'), () => taskDialog(k), 'small', { 'data-testid': 'task-edit', 'data-title': k.title }),
			button(t('common.delete'), () => deleteTask(k), 'small danger', { 'data-testid': 'task-delete', 'data-title': k.title }))
			: h('span', { class: 'small' }, '—') },
	], [...items].sort(taskOrder), q.status || q.assignee || q.label ? t('workspace.no_match') : t('workspace.no_tasks')), 'tasks');

	box.append(filters, msg, listBox);
	await loadTasks(true);
}

// ---------------------------------------------------------------- members

async function membersTab(P, box) {
	const { ctx, pid } = P;
	const msg = h('div', { class: 'msg', 'data-testid': 'members-msg' });
	const listBox = h('div');
	const reload = async () => { P.members = null; await draw(); };

	async function setRole(m, sel) {
		say(msg, null, null);
		try {
			await api('PUT', `${B}/${enc(pid)}/members/${enc(m.user_id)}`, { role: sel.value });
			m.role = sel.value;
			say(msg, 'ok', t('workspace.role_saved', { name: userName(P, m.user_id), role: t(`workspace.role_${sel.value}`) }));
			if (m.user_id === ctx.me.id) ctx.route();
		} catch (e) {
			sel.value = m.role;
			say(msg, 'error', errorText(e));
		}
	}
	async function remove(m) {
		const name = userName(P, m.user_id);
		if (!(await confirmDialog(t('workspace.remove_member'), t('workspace.remove_member_text', { name }),
			t('workspace.remove'), true))) return;
		try {
			await api('DELETE', `${B}/${enc(pid)}/members/${enc(m.user_id)}`);
			if (m.user_id === ctx.me.id) { ctx.route(); return; }
			say(msg, 'ok', t('workspace.member_removed', { name }));
			await reload();
		} catch (e) {
			say(msg, 'error', errorText(e));
		}
	}
	function add() {
		const existing = new Set((P.members || []).map(m => m.user_id));
		formDialog(t('workspace.add_member'), body => {
			let who;
			const candidates = [...P.users.values()].filter(u => !existing.has(u.id) &&
				(u.status === 'active' || u.status === 'invited'));
			if (P.users.size) {
				who = select([['', t('workspace.choose_user')], ...candidates.map(u =>
					[u.id, `${u.display_name || u.login_id} (${u.login_id})`])], '', { required: true, 'data-testid': 'member-user' });
				body.append(field(t('workspace.user'), who, candidates.length ? null : t('workspace.no_candidates')));
			} else {
				who = input({ required: true, autocomplete: 'off', spellcheck: 'false', 'data-testid': 'member-user' });
				body.append(field(t('workspace.user_id'), who, t('workspace.user_id_hint')));
			}
			const role = select(ROLES.map(r => [r, t(`workspace.role_${r}`)]), 'editor', { 'data-testid': 'member-role' });
			body.append(field(t('workspace.role'), role), roleHelp());
			return async () => {
				const uid = who.value.trim();
				if (!uid) throw Object.assign(new Error('user'), { code: 'invalid_field' });
				await api('PUT', `${B}/${enc(pid)}/members/${enc(uid)}`, { role: role.value });
				say(msg, 'ok', t('workspace.member_added', { name: userName(P, uid) }));
				await reload();
			};
		}, t('workspace.add'));
	}

	async function draw() {
		let members;
		try {
			members = await loadMembers(P);
		} catch (e) {
			say(msg, 'error', errorText(e));
			return;
		}
		clear(listBox).append(table([
			{ label: t('workspace.user'), cell: m => h('span', { 'data-testid': 'member-row', 'data-user': m.user_id }, userCell(P, m.user_id)) },
			{ label: t('workspace.role'), cell: m => P.canManage
				? select(ROLES.map(r => [r, t(`workspace.role_${r}`)]), m.role, { class: 'inline-select',
					'aria-label': t('workspace.role_of', { name: userName(P, m.user_id) }), 'data-testid': 'member-role-select',
					'data-user': m.user_id, onchange: e => setRole(m, e.target) })
				: roleBadge(m.role) },
			{ label: t('workspace.added'), cell: m => fmtTime(m.added), class: 'nowrap' },
			{ label: t('common.actions'), cell: m => P.canManage
				? button(t('workspace.remove'), () => remove(m), 'small danger', { 'data-testid': 'member-remove', 'data-user': m.user_id })
				: h('span', { class: 'small' }, '—') },
		], members, t('workspace.no_members')));
	}

	box.append(
		P.canManage ? h('div', { class: 'toolbar' }, button(t('workspace.add_member'), add, 'primary',
			{ 'data-testid': 'member-add' })) : null,
		msg, listBox, roleHelp());
	await draw();
}

function roleHelp() {
	return h('dl', { class: 'role-help small' }, ROLES.map(r => [
		h('dt', {}, t(`workspace.role_${r}`)), h('dd', {}, t(`workspace.role_${r}_help`))]));
}

// ---------------------------------------------------------------- settings

async function settingsTab(P, box) {
	const { ctx, pid, project } = P;
	const name = input({ value: project.name, required: true, maxlength: 255, 'data-testid': 'settings-name' });
	const desc = textarea({ rows: 3, 'data-testid': 'settings-description' }, project.description);
	const [labels, lf] = labelsField(project.labels);
	const msg = h('div', { class: 'msg', 'data-testid': 'settings-msg' });
	const form = h('form', { novalidate: true }, field(t('common.name'), name), field(t('workspace.description'), desc),
		lf, msg, h('button', { type: 'submit', class: 'primary', 'data-testid': 'settings-save' }, t('common.save')));
	form.addEventListener('submit', async e => {
		e.preventDefault();
		say(msg, null, null);
		try {
			await api('PATCH', `${B}/${enc(pid)}`, { name: name.value.trim(), description: desc.value,
				labels: parseLabels(labels.value) });
			ctx.route();
		} catch (err) {
			say(msg, 'error', errorText(err));
		}
	});
	const del = () => dangerForm(t('workspace.delete_project'), body => {
		const typed = input({ autocomplete: 'off', 'data-testid': 'confirm-name' });
		body.append(h('p', {}, t('workspace.delete_project_text', { name: project.name })),
			field(t('workspace.type_name', { name: project.name }), typed));
		return async () => {
			if (typed.value.trim() !== project.name) throw Object.assign(new Error('name'), { code: 'name_mismatch' });
			await api('DELETE', `${B}/${enc(pid)}`);
			ctx.navigate('projects');
		};
	}, t('workspace.delete_project'));
	box.append(
		h('section', { class: 'panel', 'aria-labelledby': 'h-settings' },
			h('h2', { id: 'h-settings' }, t('workspace.project_settings')), form),
		h('section', { class: 'panel danger-zone', 'aria-labelledby': 'h-danger' },
			h('h2', { id: 'h-danger' }, t('workspace.danger_zone')),
			h('p', {}, t('workspace.delete_project_intro')),
			button(t('workspace.delete_project'), del, 'danger', { 'data-testid': 'project-delete' })));
}

// ---------------------------------------------------------------- view

async function render(ctx) {
	if (ctx.params[0]) await projectPage(ctx);
	else await projectList(ctx);
}

export const views = [{ path: 'projects', nav: 'nav.projects', section: 'work', perm: 'files.read', render }];
