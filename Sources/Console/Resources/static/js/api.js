// The console's only way to the control plane: the public API with the access token kept in
// this page's memory. The refresh token lives in an HttpOnly cookie the page never sees; the
// CSRF cookie is sent back as X-CSRF-Token on the requests that cookie authenticates.

export class APIError extends Error {
  constructor(status, body) {
    super(body?.error ?? `HTTP ${status}`);
    this.status = status;
    this.code = body?.code ?? 'http_error';
    this.traceId = body?.traceId ?? null;
    this.details = body?.details ?? null;
  }
}

let access = null;
let expiresAt = 0;
let currentUser = null;
let pending = null;

export function csrfToken() {
  const entry = document.cookie.split('; ').find((c) => c.startsWith('persona_csrf='));
  return entry ? entry.slice('persona_csrf='.length) : '';
}

async function sessionRequest(path, init = {}) {
  const response = await fetch(path, {
    ...init,
    credentials: 'same-origin',
    headers: { 'X-CSRF-Token': csrfToken(), ...(init.headers ?? {}) },
  });
  const body = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) throw new APIError(response.status, body);
  return body;
}

function remember(envelope) {
  const body = envelope.data;
  access = body.accessToken;
  expiresAt = Date.now() + Math.max(10, body.expiresIn - 30) * 1000;
  currentUser = body.user;
  return currentUser;
}

/** Signs in; the refresh cookie is set by the response. */
export async function login(email, password) {
  const body = await sessionRequest('/api/auth/session', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  return remember(body);
}

/** A new access token from the refresh cookie (one tab at a time: the token rotates). */
export function refresh() {
  if (!pending) {
    const exchange = async () => remember(await sessionRequest('/api/auth/session/refresh', { method: 'POST' }));
    const locked = navigator.locks ? navigator.locks.request('persona-session', exchange) : exchange();
    pending = locked.finally(() => { pending = null; });
  }
  return pending;
}

/** The signed-in user, refreshing once per page load; sends the browser to /login otherwise. */
export async function session() {
  if (access && Date.now() < expiresAt) return currentUser;
  try {
    return await refresh();
  } catch (error) {
    if (error.status === 401 || error.status === 403) {
      const next = location.pathname + location.search;
      location.replace(next === '/' ? '/login' : `/login?next=${encodeURIComponent(next)}`);
      return new Promise(() => {});
    }
    throw error;
  }
}

export async function logout() {
  try {
    await api('/api/auth/session', { method: 'DELETE' });
  } finally {
    access = null;
    currentUser = null;
    location.assign('/login');
  }
}

export function accessToken() { return access; }

/** Calls the API with the bearer token; one refresh and retry when the token expired. */
export async function api(path, { method = 'GET', body, headers = {}, raw = false } = {}, retried = false) {
  if (!access || Date.now() >= expiresAt) await session();
  const init = { method, headers: { Authorization: `Bearer ${access}`, ...headers }, credentials: 'same-origin' };
  if (body instanceof FormData || typeof body === 'string') init.body = body;
  else if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers['Content-Type'] = 'application/json';
  }
  if (method === 'DELETE' && path === '/api/auth/session') init.headers['X-CSRF-Token'] = csrfToken();
  const response = await fetch(path, init);
  if (response.status === 401 && !retried) {
    access = null;
    await session();
    return api(path, { method, body, headers, raw }, true);
  }
  if (raw) return response;
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) throw new APIError(response.status, data);
  return data;
}

/** Every page of a cursor-paged list. */
export async function all(path, limit = 500) {
  const out = [];
  let cursor = null;
  do {
    const separator = path.includes('?') ? '&' : '?';
    const page = await api(`${path}${separator}limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    out.push(...page.data);
    cursor = page.nextCursor ?? null;
  } while (cursor && out.length < limit);
  return out;
}

/**
 * The live event stream (/api/ws): subscribe(topic, handler) with resume by event id,
 * reconnecting with backoff and a fresh token.
 */
export class Live {
  constructor(onStatus = () => {}) {
    this.handlers = new Map();
    this.lastIds = new Map();
    this.onStatus = onStatus;
    this.delay = 500;
    this.closed = false;
  }

  subscribe(topic, handler, { resume = false } = {}) {
    if (!this.handlers.has(topic)) this.handlers.set(topic, new Set());
    this.handlers.get(topic).add(handler);
    if (resume && !this.lastIds.has(topic)) this.lastIds.set(topic, 0);
    if (this.socket?.readyState === WebSocket.OPEN) this.send(topic);
    else this.connect();
    return () => this.handlers.get(topic)?.delete(handler);
  }

  send(topic) {
    const message = { type: 'subscribe', topic };
    if (this.lastIds.has(topic)) message.lastEventId = this.lastIds.get(topic);
    this.socket.send(JSON.stringify(message));
  }

  async connect() {
    if (this.socket || this.closed) return;
    await session();
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const socket = new WebSocket(`${scheme}://${location.host}/api/ws`, ['persona.v1', `bearer.${accessToken()}`]);
    this.socket = socket;
    socket.addEventListener('open', () => {
      this.delay = 500;
      this.onStatus('live');
      for (const topic of this.handlers.keys()) this.send(topic);
    });
    socket.addEventListener('message', (message) => {
      const frame = JSON.parse(message.data);
      if (frame.type === 'event' && frame.topic) {
        if (typeof frame.id === 'number') this.lastIds.set(frame.topic, frame.id);
      }
      const topic = frame.topic;
      for (const handler of this.handlers.get(topic) ?? []) handler(frame);
    });
    socket.addEventListener('close', async (event) => {
      this.socket = null;
      if (this.closed) return;
      this.onStatus('reconnecting');
      if (event.code === 4401) {
        try { access = null; await session(); } catch { return; }
      }
      setTimeout(() => this.connect(), this.delay);
      this.delay = Math.min(this.delay * 2, 10000);
    });
  }

  close() {
    this.closed = true;
    this.socket?.close(1000);
  }
}
