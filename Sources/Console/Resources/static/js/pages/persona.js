import { all, api } from '../api.js';
import { $, bind, describe, h, toast } from '../dom.js';

const writeRoles = new Set(['editor', 'owner']);

function fact(list, term, value) {
  list.append(h('dt', {}, term), h('dd', {}, value ?? '—'));
}

function renderContainer(status) {
  const badge = bind('container-state');
  badge.dataset.state = status.state;
  badge.textContent = status.state;
  const facts = bind('container-facts');
  facts.replaceChildren();
  fact(facts, 'State', `${status.state} (wanted: ${status.desiredState})`);
  fact(facts, 'Health', status.health);
  fact(facts, 'Image', status.image);
  fact(facts, 'Container', status.containerName);
  fact(facts, 'Supervisor', status.supervisor?.version ? `${status.supervisor.version}, ${status.supervisor.status ?? ''}` : null);
  fact(facts, 'Restarts', String(status.restartCount ?? 0));
  if (status.lastError) fact(facts, 'Last error', status.lastError);
  const sidecars = bind('sidecars');
  const list = status.supervisor?.sidecars ?? [];
  sidecars.replaceChildren(...(list.length ? list.map((s) => h('li', {}, `${s.name}: ${s.state}`)) : [h('li', { class: 'empty' }, 'None running')]));
}

export async function mount({ live, id }) {
  const persona = (await api(`/api/personas/${id}`)).data;
  document.title = `${persona.name} · Persona Platform`;
  bind('persona-name').textContent = persona.name;
  bind('persona-description').textContent = persona.description ?? '';
  const canWrite = writeRoles.has(persona.role);
  // The runtime: which image and sidecars the next container start uses (viewers read it).
  // The desktop is for editors and owners of a persona on the desktop image.
  const runtimeForm = bind('runtime-form');
  const showRuntime = (runtime) => {
    runtimeForm.image.value = runtime.image;
    runtimeForm.eagerBrowser.checked = runtime.eagerSidecars.includes('browser');
    runtimeForm.eagerDesktop.checked = runtime.eagerSidecars.includes('desktop');
    runtimeForm.browserHeaded.checked = runtime.browserHeaded;
    runtimeForm.dataset.image = runtime.image;
    bind('runtime-note').textContent = runtime.restartRequired ? 'The running container started with other settings: they apply when it next starts.' : '';
    bind('desktop-link').hidden = !canWrite || runtime.image !== 'desktop';
  };
  for (const field of runtimeForm.elements) if (field.name) field.disabled = !canWrite;
  runtimeForm.querySelector('[type=submit]').hidden = !canWrite;
  api(`/api/personas/${id}/runtime`).then(({ data }) => showRuntime(data), () => {});
  runtimeForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const error = bind('runtime-error');
    error.hidden = true;
    const eagerSidecars = [['browser', runtimeForm.eagerBrowser], ['desktop', runtimeForm.eagerDesktop]].filter(([, box]) => box.checked).map(([name]) => name);
    try {
      showRuntime((await api(`/api/personas/${id}/runtime`, { method: 'PUT',
        body: { image: runtimeForm.image.value, eagerSidecars, browserHeaded: runtimeForm.browserHeaded.checked } })).data);
      toast('Runtime saved');
    } catch (failure) {
      error.textContent = describe(failure);
      error.hidden = false;
    }
  });

  // The lists load while the container's status (an engine inspect) is asked for.
  const lists = Promise.all([
    all(`/api/personas/${id}/agents`).catch(() => []),
    api(`/api/personas/${id}/secrets`).then((r) => r.data ?? []).catch(() => null),
    api(`/api/personas/${id}/members`).then((r) => r.data ?? []).catch(() => []),
    api(`/api/personas/${id}/connectors`).then((r) => r.data ?? []).catch(() => []),
    loadTools(),
  ]);
  let status = (await api(`/api/personas/${id}/container`)).data;
  const start = $('[data-action="container-start"]');
  const stop = $('[data-action="container-stop"]');
  const buttons = () => {
    const running = status.desiredState === 'running' && status.state !== 'stopped';
    start.hidden = !canWrite || running;
    stop.hidden = !canWrite || !running;
  };
  renderContainer(status);
  buttons();
  live.subscribe(`persona:${id}`, async (frame) => {
    if (frame.type !== 'event') return;
    if (frame.event === 'container.state' || frame.event === 'sidecars') {
      status = (await api(`/api/personas/${id}/container`)).data;
      renderContainer(status);
      buttons();
      if (frame.event === 'container.state' && status.state === 'ready') loadTools();
    }
  });
  for (const [button, action] of [[start, 'start'], [stop, 'stop']]) {
    button.addEventListener('click', async () => {
      button.disabled = true;
      try {
        status = (await api(`/api/personas/${id}/container/${action}`, { method: 'POST' })).data ?? status;
        renderContainer(status);
        buttons();
      } catch (error) {
        toast(describe(error), 'error');
      } finally {
        button.disabled = false;
      }
    });
  }

  async function loadTools() {
    const tools = await api(`/api/personas/${id}/tools`).then((r) => r.data ?? []).catch(() => []);
    const body = bind('tools');
    body.replaceChildren(...tools.map((tool) => {
      const toggle = (field, label) => {
        const input = h('input', { type: 'checkbox', class: 'switch', 'aria-label': `${label} ${tool.name}` });
        input.checked = Boolean(tool[field]);
        input.disabled = !canWrite;
        input.addEventListener('change', async () => {
          try {
            await api(`/api/personas/${id}/tools/${encodeURIComponent(tool.name)}`, { method: 'PATCH', body: { [field]: input.checked } });
          } catch (error) {
            input.checked = !input.checked;
            toast(describe(error), 'error');
          }
        });
        return input;
      };
      return h('tr', {}, h('td', {}, h('strong', {}, tool.name), h('span', { class: 'tool-description' }, tool.description ?? '')),
        h('td', {}, toggle('enabled', 'Enable')), h('td', {}, toggle('requiresApproval', 'Require approval for')));
    }));
    bind('tools-empty').hidden = tools.length > 0;
  }

  const [agents, secrets, members, connectors] = await lists;
  const showAgents = (list) => bind('agents').replaceChildren(...(list.length
    ? list.map((a) => h('li', {}, h('a', { href: `/runs?persona=${id}` }, a.name), h('span', { class: 'step-meta' }, ` · ${a.model} · ${(a.tools ?? []).join(', ') || 'no tools'}`)))
    : [h('li', { class: 'empty' }, 'No agents yet')]));
  showAgents(agents);
  // Editors and owners change the name, description, system prompt and theme (PATCH).
  const editForm = bind('edit-form');
  bind('edit-panel').hidden = !canWrite;
  editForm.name.value = persona.name;
  editForm.description.value = persona.description ?? '';
  editForm.systemPrompt.value = persona.systemPrompt ?? '';
  if (persona.theme?.primaryColor) editForm.themeColor.value = persona.theme.primaryColor;
  editForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const error = bind('edit-error');
    error.hidden = true;
    try {
      const body = { name: editForm.name.value.trim(), description: editForm.description.value.trim(),
        systemPrompt: editForm.systemPrompt.value, theme: { ...(persona.theme ?? {}), primaryColor: editForm.themeColor.value } };
      const saved = (await api(`/api/personas/${id}`, { method: 'PATCH', body })).data;
      Object.assign(persona, saved);
      bind('persona-name').textContent = saved.name;
      bind('persona-description').textContent = saved.description ?? '';
      document.title = `${saved.name} · Persona Platform`;
      toast('Saved');
    } catch (failure) {
      error.textContent = describe(failure);
      error.hidden = false;
    }
  });
  const agentForm = bind('agent-form');
  bind('agent-panel').hidden = !canWrite;
  agentForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const error = bind('agent-error');
    error.hidden = true;
    try {
      const tools = agentForm.tools.value.split(',').map((t) => t.trim()).filter(Boolean);
      await api(`/api/personas/${id}/agents`, { method: 'POST', body: { name: agentForm.name.value.trim(), model: agentForm.model.value.trim(), tools, maxSteps: Number(agentForm.maxSteps.value) } });
      agentForm.reset();
      showAgents(await all(`/api/personas/${id}/agents`));
    } catch (failure) {
      error.textContent = describe(failure);
      error.hidden = false;
    }
  });
  const secretList = bind('secrets');
  const showSecrets = (names) => secretList.replaceChildren(...(names.length ? names.map((s) => h('li', { class: 'mono' }, s.name)) : [h('li', { class: 'empty' }, 'No secrets')]));
  if (secrets === null) secretList.replaceChildren(h('li', { class: 'empty' }, 'Only editors see secret names.'));
  else showSecrets(secrets);
  const secretForm = bind('secret-form');
  secretForm.hidden = !canWrite;
  secretForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    try {
      await api(`/api/personas/${id}/secrets/${encodeURIComponent(secretForm.name.value)}`, { method: 'PUT', body: { value: secretForm.value.value } });
      secretForm.reset();
      showSecrets((await api(`/api/personas/${id}/secrets`)).data ?? []);
    } catch (error) {
      toast(describe(error), 'error');
    }
  });
  const showMembers = (list) => bind('members').replaceChildren(...(list.length
    ? list.map((m) => h('tr', {}, h('td', {}, m.name ? `${m.name} (${m.email})` : m.email), h('td', {}, m.role)))
    : [h('tr', {}, h('td', { colspan: '2', class: 'empty' }, 'Only the owner has access.'))]));
  const memberForm = bind('member-form');
  memberForm.hidden = persona.role !== 'owner';
  memberForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const error = bind('member-error');
    error.hidden = true;
    try {
      await api(`/api/personas/${id}/members`, { method: 'POST', body: { email: memberForm.email.value.trim(), role: memberForm.role.value } });
      memberForm.reset();
      const list = (await api(`/api/personas/${id}/members`)).data ?? [];
      showMembers(list);
    } catch (failure) {
      error.textContent = describe(failure);
      error.hidden = false;
    }
  });
  showMembers(members);
  bind('connectors').replaceChildren(...connectors.map((c) => h('tr', {}, h('td', {}, c.name ?? c.id), h('td', {}, c.kind), h('td', { title: c.status?.message ?? '' }, c.status?.state ?? ''))));
}
