// A JUnit XML reporter for node:test (scripts/junit.py counts its
// <testcase> elements with the rest of make test).  Usage:
//   node --test --test-reporter=spec --test-reporter-destination=stdout \
//     --test-reporter=./junit-reporter.mjs --test-reporter-destination=F
// XML 1.0 has no place for control characters (ANSI colour codes in
// playwright's messages): they are dropped
const esc = s => String(s).replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '')
	.replace(/[<>&"]/g, c => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' }[c]));

export default async function* junit(source) {
	const cases = [];
	for await (const ev of source) {
		if (ev.type !== 'test:pass' && ev.type !== 'test:fail') continue;
		const d = ev.data;
		if (d.details && d.details.type === 'suite') continue;
		const secs = ((d.details && d.details.duration_ms) || 0) / 1000;
		let xml = `<testcase classname="e2e.${esc((d.file || '').split('/').pop())}" name="${esc(d.name)}" time="${secs.toFixed(3)}"`;
		if (ev.type === 'test:fail') {
			const err = d.details && d.details.error;
			const msg = err ? (err.cause ? String(err.cause.stack || err.cause) : String(err.stack || err)) : 'failed';
			xml += `><failure message="${esc(msg.split('\n')[0].slice(0, 300))}">${esc(msg)}</failure></testcase>`;
		} else if (d.skip || d.todo) {
			xml += '><skipped/></testcase>';
		} else {
			xml += '/>';
		}
		cases.push(xml);
	}
	yield `<?xml version="1.0" encoding="utf-8"?>\n<testsuites><testsuite name="e2e" tests="${cases.length}">\n${cases.join('\n')}\n</testsuite></testsuites>\n`;
}
