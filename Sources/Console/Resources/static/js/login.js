import { login } from './api.js';
import { bind } from './dom.js';

const form = document.getElementById('login-form');
const error = bind('login-error');

form.addEventListener('submit', async (event) => {
  event.preventDefault();
  error.hidden = true;
  const button = form.querySelector('button[type="submit"]');
  button.disabled = true;
  try {
    await login(form.email.value.trim(), form.password.value);
    const next = new URLSearchParams(location.search).get('next');
    location.assign(next && next.startsWith('/') && !next.startsWith('//') ? next : '/');
  } catch (failure) {
    error.textContent = failure.code === 'rate_limited' || failure.status === 429
      ? 'Too many sign-in attempts. Wait a few minutes and try again.'
      : failure.status === 401 || failure.status === 403
        ? 'That email and password do not match an active account.'
        : `Sign-in failed: ${failure.message}`;
    error.hidden = false;
    form.password.select();
  } finally {
    button.disabled = false;
  }
});

document.documentElement.dataset.ready = String(Math.round(performance.now()));
