import { all, api } from '../api.js';
import { ago, bind, describe, h } from '../dom.js';

export async function mount({ user }) {
  if (user.role !== 'admin') {
    bind('users').replaceChildren(h('tr', {}, h('td', { colspan: '4' }, 'Only administrators manage users.')));
    bind('user-form').hidden = true;
    return;
  }
  const body = bind('users');
  const render = (users) => body.replaceChildren(...users.map((u) => h('tr', {},
    h('td', {}, u.name, h('br'), h('span', { class: 'lede' }, u.email)), h('td', {}, u.role), h('td', {}, u.isActive ? 'yes' : 'no'),
    h('td', {}, u.lastLoginAt ? ago(u.lastLoginAt) : 'never'))));
  render(await all('/api/admin/users'));
  const form = bind('user-form');
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const error = bind('user-error');
    error.hidden = true;
    try {
      await api('/api/admin/users', { method: 'POST', body: { email: form.email.value, name: form.name.value, password: form.password.value, role: form.role.value } });
      form.reset();
      render(await all('/api/admin/users'));
    } catch (failure) {
      error.textContent = describe(failure);
      error.hidden = false;
    }
  });
}
