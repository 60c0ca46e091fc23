import { api } from '../api.js';
import { bind, describe, h, toast } from '../dom.js';

const label = (key) => key.replace(/([A-Z])/g, ' $1').replace(/^./, (c) => c.toUpperCase());

export async function mount({ user }) {
  const form = bind('settings-form');
  if (user.role !== 'admin') {
    form.replaceChildren(h('p', {}, 'Only administrators change platform settings.'));
    return;
  }
  const settings = (await api('/api/admin/settings')).data;
  const fields = Object.entries(settings).filter(([, v]) => ['boolean', 'number', 'string'].includes(typeof v));
  form.replaceChildren(...fields.map(([key, value]) => {
    const id = `setting-${key}`;
    const input = typeof value === 'boolean' ? h('input', { id, name: key, type: 'checkbox', class: 'switch' })
      : h('input', { id, name: key, type: typeof value === 'number' ? 'number' : 'text', class: 'inline' });
    if (typeof value === 'boolean') input.checked = value; else input.value = String(value);
    return h('label', { for: id }, input, label(key));
  }), h('button', { type: 'submit', class: 'neon-button' }, 'Save settings'));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const patch = {};
    for (const [key, value] of fields) {
      const input = form.elements[key];
      const next = typeof value === 'boolean' ? input.checked : typeof value === 'number' ? Number(input.value) : input.value;
      if (next !== value) patch[key] = next;
    }
    try {
      await api('/api/admin/settings', { method: 'PUT', body: patch });
      toast('Settings saved');
    } catch (error) {
      toast(describe(error), 'error');
    }
  });
}
