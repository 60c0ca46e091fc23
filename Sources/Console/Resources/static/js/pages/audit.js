import { api } from '../api.js';
import { $, ago, bind, h } from '../dom.js';

export async function mount() {
  const params = new URLSearchParams(location.search);
  const form = bind('filter');
  for (const name of ['traceId', 'type', 'userId', 'personaId']) form[name].value = params.get(name) ?? '';
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const next = new URLSearchParams();
    for (const name of ['traceId', 'type', 'userId', 'personaId']) if (form[name].value.trim()) next.set(name, form[name].value.trim());
    location.search = next.toString();
  });
  const query = new URLSearchParams();
  for (const name of ['traceId', 'type', 'userId', 'personaId']) if (params.get(name)) query.set(name, params.get(name));
  const body = bind('events');
  let cursor = null;
  const load = async () => {
    const page = await api(`/api/audit?${query}&limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    body.append(...page.data.map((e) => h('tr', {},
      h('td', {}, h('time', { datetime: e.createdAt, title: e.createdAt }, ago(e.createdAt))),
      h('td', {}, h('span', { class: 'mono' }, e.eventType)),
      h('td', {}, e.description),
      h('td', {}, e.traceId ? h('a', { class: 'mono', href: `/audit?traceId=${e.traceId}` }, e.traceId.slice(0, 12)) : ''))));
    cursor = page.nextCursor ?? null;
    $('[data-action="more"]').hidden = !cursor;
    bind('empty').hidden = body.children.length > 0;
  };
  $('[data-action="more"]').addEventListener('click', load);
  await load();
}
