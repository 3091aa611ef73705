// The service worker: caches the app shell and the wasm module so the app
// opens with no network. Versioned by the build id (pkg/build.js, written by
// scripts/wasm-build.sh from a digest of every shell file): a new build is a
// new cache; the old cache is deleted only after the new one is complete.
// Visits live in IndexedDB (encrypted), which this worker never touches, so
// an update of the app cannot drop unsynced data. API calls (/api/) and the
// admin pages are never cached or intercepted: nothing in this cache names a
// person, a visit or an officer (the shell is the same for every phone). The
// admin pages also import /common.js: a page under /admin (one this worker
// came to control by clients.claim) gets it from the network, never from a
// cache that may be older than the admin files it goes with.

importScripts('/pkg/build.js');
const CACHE = `aidant-shell-${self.AIDANT_BUILD || 'dev'}`;
const SHELL = [
  '/', '/index.html', '/app.css', '/app.js', '/db.js', '/sync.js', '/common.js', '/vault.js', '/lock.js',
  '/state.js', '/persist.js', '/session.js', '/ui.js', '/widgets.js', '/home.js', '/visit.js', '/lock-screens.js', '/settings.js',
  '/manifest.webmanifest', '/icon.svg', '/pkg/build.js',
  // The wasm module, its JS glue and the glue's snippets (listed by the build).
  ...(self.AIDANT_PKG || ['/pkg/client_wasm.js', '/pkg/client_wasm_bg.wasm']),
];

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    await cache.addAll(SHELL.map((u) => new Request(u, { cache: 'reload' })));
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name.startsWith('aidant-shell-') && name !== CACHE) await caches.delete(name);
    }
    await self.clients.claim();
  })());
});

self.addEventListener('fetch', (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== 'GET' || url.origin !== location.origin) return;
  if (url.pathname.startsWith('/api/') || url.pathname.startsWith('/admin')) return;
  // Cache first: the shell is versioned as a whole, so a cached file is
  // always the one that goes with the others. Navigations get index.html.
  const key = event.request.mode === 'navigate' ? '/index.html' : url.pathname;
  event.respondWith((async () => {
    const client = event.clientId ? await self.clients.get(event.clientId) : null;
    if (client && new URL(client.url).pathname.startsWith('/admin')) return fetch(event.request);
    const cache = await caches.open(CACHE);
    const hit = await cache.match(key);
    if (hit) return hit;
    return fetch(event.request);
  })());
});
