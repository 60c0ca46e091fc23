import { accessToken, api, session } from '../api.js';
import { bind, describe, h, toast } from '../dom.js';

const size = (bytes) => bytes < 1024 ? `${bytes} B` : bytes < 1048576 ? `${(bytes / 1024).toFixed(1)} KB` : `${(bytes / 1048576).toFixed(1)} MB`;

/** The chunk's text with the query's words marked. */
function highlight(text, query) {
  const words = [...new Set(query.toLowerCase().split(/\W+/).filter((w) => w.length > 2))];
  const out = h('p', {});
  if (!words.length) { out.textContent = text; return out; }
  const pattern = new RegExp(`(${words.map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})`, 'gi');
  for (const part of text.split(pattern)) {
    out.append(words.includes(part.toLowerCase()) ? h('mark', {}, part) : part);
  }
  return out;
}

/** XMLHttpRequest for the upload: fetch has no upload progress. */
function upload(id, file, onProgress) {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open('POST', `/api/personas/${id}/memory/upload`);
    request.setRequestHeader('Authorization', `Bearer ${accessToken()}`);
    request.upload.addEventListener('progress', (event) => { if (event.lengthComputable) onProgress(event.loaded / event.total); });
    request.addEventListener('load', () => {
      const body = JSON.parse(request.responseText || 'null');
      if (request.status >= 200 && request.status < 300) resolve(body.data);
      else reject(Object.assign(new Error(body?.error ?? `HTTP ${request.status}`), { traceId: body?.traceId }));
    });
    request.addEventListener('error', () => reject(new Error('The upload failed (network)')));
    const data = new FormData();
    data.append('file', file);
    request.send(data);
  });
}

export async function mount({ id }) {
  const persona = (await api(`/api/personas/${id}`)).data;
  bind('persona-link').textContent = persona.name;
  const body = bind('documents');
  let poll = null;
  const load = async () => {
    const documents = (await api(`/api/personas/${id}/memory?limit=100`)).data;
    body.replaceChildren(...documents.map((d) => h('tr', { dataset: { documentId: d.id, status: d.status } },
      h('td', {}, d.name), h('td', { title: d.error ?? '' }, h('span', { class: 'state-badge', dataset: { state: d.status === 'completed' ? 'ready' : d.status } }, d.status),
        d.error ? h('span', { class: 'tool-description' }, d.error) : ''),
      h('td', {}, String(d.chunkCount)), h('td', {}, size(d.sizeBytes)))));
    bind('empty').hidden = documents.length > 0;
    clearTimeout(poll);
    if (documents.some((d) => d.status === 'pending' || d.status === 'processing')) poll = setTimeout(load, 1000);
  };
  await load();

  if (['editor', 'owner'].includes(persona.role)) {
    bind('upload-panel').hidden = false;
    const form = bind('upload-form');
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      await session();
      for (const file of form.file.files) {
        const bar = h('progress', { max: '1', value: '0', 'aria-label': `Uploading ${file.name}` });
        const item = h('li', { dataset: { upload: file.name } }, file.name, bar);
        bind('uploads').append(item);
        try {
          await upload(id, file, (fraction) => { bar.value = fraction; });
          bar.value = 1;
          item.dataset.done = '';
        } catch (error) {
          toast(describe(error), 'error');
          item.dataset.failed = '';
        }
      }
      form.reset();
      load();
    });
  }

  const search = bind('search-form');
  search.addEventListener('submit', async (event) => {
    event.preventDefault();
    const q = search.q.value.trim();
    try {
      const chunks = (await api(`/api/personas/${id}/memory/search?q=${encodeURIComponent(q)}&limit=10`)).data;
      bind('results').replaceChildren(...(chunks.length ? chunks.map((c) => h('li', { dataset: { chunkId: c.id } },
        h('div', { class: 'step-meta' }, `${c.documentName ?? (c.curated ? 'curated' : '')} · similarity ${(c.similarity ?? 0).toFixed(2)}${c.curated ? ' · curated' : ''}`),
        highlight(c.text, q))) : [h('li', { class: 'empty' }, 'Nothing in memory matches.')]));
    } catch (error) {
      toast(describe(error), 'error');
    }
  });
}
