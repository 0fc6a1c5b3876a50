// Home: notices, open alerts (for those who may read them) and quick links.
import { h, fmtTime, errorText, say } from './dom.js';
import { t } from './i18n.js';
import { api } from './api.js';

const LINKS = [
	['projects', 'files.read', 'home.link_projects'],
	['account', null, 'home.link_account'],
	['users', 'users.read', 'home.link_users'],
	['security', 'settings.read', 'home.link_security'],
	['audit', 'audit.read', 'home.link_audit'],
];

async function render(ctx) {
	const { main, me } = ctx;
	main.append(h('h1', {}, t('home.welcome', { name: me.display_name || me.login_id })));
	main.append(h('section', { class: 'panel', 'aria-labelledby': 'h-notices' },
		h('h2', { id: 'h-notices' }, t('home.notices')),
		h('p', { class: 'empty' }, t('home.no_notices'))));
	if (ctx.hasPerm('audit.read')) {
		const box = h('div');
		const sec = h('section', { class: 'panel', 'aria-labelledby': 'h-alerts' },
			h('h2', { id: 'h-alerts' }, t('home.alerts')), box);
		main.append(sec);
		try {
			const r = await api('GET', '/api/v1/alerts', null, { acked: 'false', limit: 5 });
			if (!r.items.length) box.append(h('p', { class: 'empty' }, t('home.no_alerts')));
			else box.append(h('ul', { class: 'alerts' }, r.items.map(a => h('li', {},
				h('span', { class: `badge ${a.severity === 'critical' ? 'danger' : 'warn'}` },
					t(`alert.severity_${a.severity}`)), ' ',
				t(`alert.rule_${a.rule}`), ' · ', h('span', { class: 'small' }, fmtTime(a.created))))),
				h('a', { href: '#/alerts' }, t('home.all_alerts')));
		} catch (e) {
			say(box, 'error', errorText(e));
		}
	}
	main.append(h('section', { class: 'panel', 'aria-labelledby': 'h-links' },
		h('h2', { id: 'h-links' }, t('home.links')),
		h('ul', { class: 'links' }, LINKS.filter(([, p]) => ctx.hasPerm(p)).map(([path, , key]) =>
			h('li', {}, h('a', { href: `#/${path}` }, t(key)))))));
}

export const views = [{ path: 'home', nav: 'nav.home', section: 'work', perm: null, render }];
