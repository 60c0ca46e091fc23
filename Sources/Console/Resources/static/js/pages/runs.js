import { all, api } from '../api.js';
import { $, ago, bind, describe, h } from '../dom.js';

function row(run) {
  return h('tr', { dataset: { runId: run.id } },
    h('td', {}, h('a', { href: `/runs/${run.id}` }, run.input.length > 80 ? `${run.input.slice(0, 80)}…` : run.input)),
    h('td', {}, h('span', { class: 'state-badge', dataset: { state: run.status } }, run.status.replaceAll('_', ' '))),
    h('td', {}, String(run.stepCount)),
    h('td', {}, h('time', { datetime: run.createdAt }, ago(run.createdAt))));
}

export async function mount({ live }) {
  const params = new URLSearchParams(location.search);
  const personaId = params.get('persona');
  const filter = bind('filter');
  filter.status.value = params.get('status') ?? '';
  filter.status.addEventListener('change', () => {
    const next = new URLSearchParams(location.search);
    if (filter.status.value) next.set('status', filter.status.value); else next.delete('status');
    location.search = next.toString();
  });
  const query = new URLSearchParams();
  if (personaId) query.set('personaId', personaId);
  if (filter.status.value) query.set('status', filter.status.value);
  const body = bind('runs');
  let cursor = null;
  const load = async () => {
    const page = await api(`/api/runs?${query}&limit=50${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    body.append(...page.data.map(row));
    cursor = page.nextCursor ?? null;
    $('[data-action="more"]').hidden = !cursor;
    bind('empty').hidden = body.children.length > 0;
  };
  $('[data-action="more"]').addEventListener('click', load);
  await load();

  if (personaId) {
    const persona = (await api(`/api/personas/${personaId}`)).data;
    const agents = await all(`/api/personas/${personaId}/agents`);
    if (['editor', 'owner'].includes(persona.role) && agents.length) {
      const form = bind('start-form');
      form.agentId.replaceChildren(...agents.map((a) => h('option', { value: a.id }, a.name)));
      bind('start-panel').hidden = false;
      form.addEventListener('submit', async (event) => {
        event.preventDefault();
        try {
          const run = (await api('/api/runs', { method: 'POST', body: { agentId: form.agentId.value, input: form.input.value } })).data;
          location.assign(`/runs/${run.id}`);
        } catch (error) {
          bind('start-error').textContent = describe(error);
          bind('start-error').hidden = false;
        }
      });
    }
    live.subscribe(`persona:${personaId}`, () => {});
  }
}
