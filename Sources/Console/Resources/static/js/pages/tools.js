import { api } from '../api.js';
import { bind, h } from '../dom.js';

function needs(tool) {
  const n = tool.needs ?? {};
  return Object.entries(n).filter(([, v]) => v === true || (Array.isArray(v) && v.length)).map(([k]) => k).join(', ');
}

function row(tool, extra) {
  return h('tr', { dataset: { tool: tool.name } },
    h('td', {}, h('strong', {}, tool.name), tool.requiresApproval ? ' · needs approval' : '', extra ?? '',
      h('span', { class: 'tool-description' }, tool.description)),
    h('td', {}, tool.category), h('td', {}, tool.version), h('td', {}, needs(tool)));
}

export async function mount() {
  const params = new URLSearchParams(location.search);
  const category = params.get('category');
  const q = params.get('q');
  const form = bind('search-form');
  form.q.value = q ?? '';
  const categories = (await api('/api/tools/categories')).data;
  bind('categories').replaceChildren(
    h('a', { class: 'chip', href: '/tools', 'aria-current': String(!category) }, 'All'),
    ...categories.map((c) => h('a', { class: 'chip', href: `/tools?category=${encodeURIComponent(c.category)}`, 'aria-current': String(c.category === category) },
      `${c.category} (${c.count})`)));
  const body = bind('tools');
  if (q) {
    bind('catalog-title').textContent = `Best matches for “${q}”`;
    const results = (await api(`/api/tools/search?q=${encodeURIComponent(q)}&limit=20`)).data;
    body.replaceChildren(...results.map((r) => row(r.tool, ` · score ${r.score.toFixed(2)}${r.dependencyChain.length ? ` · needs ${r.dependencyChain.map((d) => d.name).join(' → ')}` : ''}`)));
  } else {
    const query = new URLSearchParams({ limit: '200' });
    if (category) query.set('category', category);
    const tools = (await api(`/api/tools?${query}`)).data;
    body.replaceChildren(...tools.map((t) => row(t)));
  }
}
