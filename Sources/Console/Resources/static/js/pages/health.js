import { api } from '../api.js';
import { ago, bind, h } from '../dom.js';

export async function mount({ user }) {
  const body = bind('health');
  if (user.role !== 'admin') {
    body.replaceChildren(h('tr', {}, h('td', { colspan: '5' }, 'Only administrators see every persona’s health.')));
    return;
  }
  const health = (await api('/api/admin/health')).data;
  body.replaceChildren(...health.personas.map((p) => h('tr', {},
    h('td', {}, h('a', { href: `/personas/${p.personaId}` }, p.personaName)),
    h('td', {}, p.latest?.cpuPercent != null ? `${p.latest.cpuPercent.toFixed(1)} %` : '—'),
    h('td', {}, p.latest?.memoryMb != null ? `${p.latest.memoryMb.toFixed(0)} MB` : '—'),
    h('td', {}, p.latest?.sampledAt ? ago(p.latest.sampledAt) : '—'),
    h('td', {}, p.openAlerts.length ? p.openAlerts.map((a) => a.kind.replaceAll('_', ' ')).join(', ') : 'none'))));
}
