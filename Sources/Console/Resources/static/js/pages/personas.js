import { all, api } from '../api.js';
import { $, bind, describe, fill } from '../dom.js';

function tile(persona, state) {
  const element = fill('persona-tile', { name: persona.name, description: persona.description ?? '', state: state ?? 'stopped' });
  element.href = `/personas/${persona.id}`;
  element.dataset.personaId = persona.id;
  element.dataset.state = state ?? 'stopped';
  element.querySelector('[data-field="state"]').dataset.state = state ?? 'stopped';
  const color = persona.theme?.primaryColor;
  if (typeof color === 'string' && /^#[0-9a-fA-F]{6}$/.test(color)) element.style.setProperty('--tile-color', color);
  return element;
}

function setState(element, state) {
  element.dataset.state = state;
  const badge = element.querySelector('[data-field="state"]');
  badge.dataset.state = state;
  badge.textContent = state;
}

export async function mount({ user, live }) {
  const list = bind('personas');
  const personas = await all('/api/personas');
  const states = await Promise.all(personas.map((p) => api(`/api/personas/${p.id}/container`).then((c) => c.data?.state ?? c.state).catch(() => 'stopped')));
  list.replaceChildren(...personas.map((p, i) => tile(p, states[i])));
  bind('empty').hidden = personas.length > 0;
  for (const persona of personas) {
    live.subscribe(`persona:${persona.id}`, (frame) => {
      if (frame.event !== 'container.state') return;
      const element = list.querySelector(`[data-persona-id="${persona.id}"]`);
      if (element && frame.data?.state) setState(element, frame.data.state);
    });
  }

  const dialog = document.getElementById('persona-dialog');
  const form = document.getElementById('persona-form');
  const error = bind('form-error', dialog);
  $('[data-action="create-persona"]').addEventListener('click', () => {
    form.reset();
    error.hidden = true;
    dialog.showModal();
  });
  $('[data-action="cancel"]', dialog).addEventListener('click', () => dialog.close());
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      const body = { name: form.name.value.trim(), theme: { primaryColor: form.themeColor.value } };
      if (form.description.value.trim()) body.description = form.description.value.trim();
      const created = await api('/api/personas', { method: 'POST', body });
      const persona = created.data ?? created;
      list.prepend(tile(persona, 'stopped'));
      bind('empty').hidden = true;
      dialog.close();
    } catch (failure) {
      error.textContent = describe(failure);
      error.hidden = false;
    }
  });
  void user;
}
