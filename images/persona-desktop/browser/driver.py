"""Browser sidecar: drives the persona's chromium over CDP and serves a small JSON API over HTTP/1.1
on a unix socket. The supervisor (PID 1) starts chromium itself, then this driver as uid 1000 with

  PERSONA_BROWSER_CDP             http://127.0.0.1:9222 (chromium's DevTools endpoint; never published)
  PERSONA_BROWSER_SOCKET          /tmp/persona-sidecars/browser.sock (created here; see main())
  PERSONA_BROWSER_MAX_PAGE_BYTES  largest main document /v1/navigate accepts (10485760)
  PERSONA_BROWSER_MAX_TEXT_BYTES  cap of /v1/extract output (262144)

Exit codes: 0 on SIGTERM, 3 when the CDP connection is lost (the supervisor restarts chromium, then
the driver). Requests are served one at a time (Playwright's sync API is single-threaded) and every
response closes its connection, so an idle keep-alive client cannot block the next one.
Errors are `{"error": message, "code": snake_case}` with an HTTP status.
"""
import glob, http.server, json, os, signal, socket, socketserver, struct, sys, tempfile, threading, time
from urllib.parse import unquote, urlparse

from playwright.sync_api import Error as PlaywrightError, TimeoutError as PlaywrightTimeout, sync_playwright

CDP = os.environ.get("PERSONA_BROWSER_CDP", "http://127.0.0.1:9222")
SOCKET_PATH = os.environ.get("PERSONA_BROWSER_SOCKET", "/tmp/persona-sidecars/browser.sock")
MAX_PAGE_BYTES = int(os.environ.get("PERSONA_BROWSER_MAX_PAGE_BYTES", "10485760"))
MAX_TEXT_BYTES = int(os.environ.get("PERSONA_BROWSER_MAX_TEXT_BYTES", "262144"))
CONNECT_TIMEOUT_S = 15           # retrying the first CDP connection
NAVIGATE_TIMEOUT_MS = 30000      # default timeoutMs of navigate (and of a load a click/Enter starts)
ACTION_TIMEOUT_MS = 10000        # default timeoutMs of the other routes (element waits, evaluate)
MAX_LINKS, MAX_REQUEST_BYTES = 500, 1 << 20
URL_SCHEMES = {"http", "https", "file", "about", "data"}
WAIT_UNTIL = {"load", "domcontentloaded", "networkidle", "commit"}
EXIT_BROWSER_LOST = 3
WEDGED_GRACE_S = 15  # a request still running this long after its timeouts means chromium is wedged
# Runtime.callFunctionOn on the evaluated object: calls a function source ('() => ...', as Playwright's
# evaluate does) and settles a promise, racing a timer so a never-settling one cannot hang the driver.
SETTLE_JS = ("function(ms) { const v = typeof this === 'function' ? this() : this; return Promise.race([v,"
             " new Promise((_, no) => setTimeout(() => no(new Error('__persona_timeout__')), ms))]); }")
LINKS_JS = "r => [...r.querySelectorAll('a[href]')].map(a => ({text: (a.innerText || '').trim(), href: a.href}))"


def log(msg):
    print(f"browser-driver: {msg}", file=sys.stderr, flush=True)


class ApiError(Exception):
    def __init__(self, status, code, message):
        super().__init__(message)
        self.status, self.code = status, code


def utf8_cap(text, limit=MAX_TEXT_BYTES):
    """(text cut to at most `limit` UTF-8 bytes without splitting a character, truncated?)"""
    raw = text.encode("utf-8")
    return (text, False) if len(raw) <= limit else (raw[:limit].decode("utf-8", "ignore"), True)


def str_field(body, name, empty=False):
    value = body.get(name)
    if not isinstance(value, str) or (not value and not empty):
        raise ApiError(400, "invalid_request", f"'{name}' must be a{'' if empty else ' non-empty'} string")
    return value


def timeout_ms(body, default):
    value = body.get("timeoutMs", default)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 < value <= 600000:
        raise ApiError(400, "invalid_request", "'timeoutMs' must be an integer from 1 to 600000")
    return value


class Browser:
    """The CDP connection, the profile's default context and the routes acting on its current page."""

    def __init__(self):
        self.lost = False  # the CDP connection is gone: exit once the current request is answered
        self.deadline = None  # while a request is served: when to give up on chromium (monotonic)
        self.pw = sync_playwright().start()
        deadline = time.monotonic() + CONNECT_TIMEOUT_S
        while True:
            try:
                self.browser = self.pw.chromium.connect_over_cdp(CDP, timeout=5000)
                break
            except PlaywrightError as e:
                if time.monotonic() > deadline:
                    log(f"cannot connect to {CDP}: {str(e).splitlines()[0]}")
                    stop(EXIT_BROWSER_LOST)
                time.sleep(0.2)
        self.browser.on("disconnected", lambda _: setattr(self, "lost", True))
        # The persistent context of chromium's --user-data-dir: cookies and storage outlive the driver.
        self.context = self.browser.contexts[0]

    def sync(self):
        """Lets Playwright dispatch what chromium reported while the driver sat idle (tabs opened or
        pages navigated over VNC or by the desktop tools): events are only processed during a call,
        so one round trip to Playwright's driver comes first."""
        for page in self.context.pages:
            try:
                page.wait_for_timeout(0)
                return
            except PlaywrightError:
                continue  # closed meanwhile

    def page(self, create=True):
        """The current page: the most recently opened one still open; a new one when there is none."""
        pages = [p for p in self.context.pages if not p.is_closed()]
        return pages[-1] if pages else (self.context.new_page() if create else None)

    def health(self, _body):
        page = self.page(create=False)
        return {"ok": True, "browserVersion": self.browser.version, "pages": len(self.context.pages),
                "url": page.url if page else None}

    def navigate(self, body):
        url, wait_until = str_field(body, "url"), body.get("waitUntil", "load")
        parsed = urlparse(url)
        if parsed.scheme.lower() not in URL_SCHEMES:
            raise ApiError(400, "invalid_url", f"unsupported URL {url!r}: use http, https, file, about or data")
        if wait_until not in WAIT_UNTIL:
            raise ApiError(400, "invalid_request", f"waitUntil must be one of {sorted(WAIT_UNTIL)}")
        too_large = ApiError(413, "page_too_large", f"the page at {url} is larger than {MAX_PAGE_BYTES} bytes")
        if parsed.scheme.lower() == "file" and os.path.isfile(unquote(parsed.path)):
            if os.path.getsize(unquote(parsed.path)) > MAX_PAGE_BYTES:
                raise too_large  # a local file is measured without loading it
        page, timeout = self.page(), timeout_ms(body, NAVIGATE_TIMEOUT_MS)
        deadline = time.monotonic() + timeout / 1000
        try:
            # Up to the response headers first: a declared Content-Length over the cap stops here.
            response = page.goto(url, wait_until="commit", timeout=timeout)
            declared = response.headers.get("content-length", "") if response else ""
            if declared.isdigit() and int(declared) > MAX_PAGE_BYTES:
                page.goto("about:blank")
                raise too_large
            if wait_until != "commit":
                page.wait_for_load_state(wait_until, timeout=max(1, (deadline - time.monotonic()) * 1000))
        except PlaywrightTimeout:
            self.stop_loading(page)
            raise ApiError(504, "navigation_timeout", f"navigation to {url} did not finish within {timeout} ms")
        except PlaywrightError as e:
            net = next((w for w in str(e).split() if w.startswith("net::ERR_")), None)
            if not net:
                raise
            # Chromium commits its error page just after the failure: let it, or it interrupts the
            # next navigation.
            for _ in range(40):
                if page.url.startswith("chrome-error:"):
                    break
                page.wait_for_timeout(25)
            raise ApiError(502, "page_unreachable", f"{url} is unreachable: {net}")
        if response is not None and not declared.isdigit():
            try:
                size = len(response.body())
            except PlaywrightError:  # nothing to measure (a redirect, a download, some data: loads)
                size = 0
            if size > MAX_PAGE_BYTES:
                page.goto("about:blank")
                raise too_large
        return {"url": page.url, "title": page.title(), "status": response.status if response else None}

    def click(self, body):
        page, selector, timeout = self.page(), str_field(body, "selector"), timeout_ms(body, ACTION_TIMEOUT_MS)
        return self.act(page, body, True, lambda: page.click(selector, timeout=timeout))

    def type(self, body):
        page, selector, text = self.page(), str_field(body, "selector"), str_field(body, "text", empty=True)
        timeout, enter = timeout_ms(body, ACTION_TIMEOUT_MS), bool(body.get("pressEnter"))

        def action():
            if body.get("clear", True):
                page.fill(selector, text, timeout=timeout)
            else:
                page.locator(selector).first.press_sequentially(text, timeout=timeout)
            if enter:
                page.press(selector, "Enter", timeout=timeout)

        return self.act(page, body, enter, action)

    def act(self, page, body, may_navigate, action):
        """Runs an input action. If it may navigate (click, Enter) and within ~150 ms a main-frame
        navigation starts or a new tab opens (which becomes the current page), waits for that page's
        load event (bounded by timeoutMs or 30 s). Answers the current page's URL and title."""
        started, opened = [], []
        on_page = lambda p: opened.append(p)
        on_request = lambda r: started.append(r) if r.is_navigation_request() and r.frame == page.main_frame else None
        page.on("request", on_request)
        self.context.on("page", on_page)
        try:
            action()
            for _ in range(6 if may_navigate else 0):
                if started or opened:
                    break
                page.wait_for_timeout(25)
        except PlaywrightTimeout:
            raise ApiError(404, "element_not_found", f"no element matches {body.get('selector')!r} in time")
        finally:
            page.remove_listener("request", on_request)
            self.context.remove_listener("page", on_page)
        current = opened[-1] if opened else page
        if started or opened:
            try:
                current.wait_for_load_state("load", timeout=body.get("timeoutMs", NAVIGATE_TIMEOUT_MS))
            except PlaywrightTimeout:
                self.stop_loading(current)  # answer with the URL and title reached so far
        return {"url": current.url, "title": current.title()}

    def stop_loading(self, page):
        """Stops a navigation still pending after a timeout, like the stop button: until it commits or
        fails, chromium holds every DevTools command for the page (evaluate, screenshot...)."""
        try:
            cdp = self.context.new_cdp_session(page)
            cdp.send("Page.stopLoading")
            cdp.detach()
        except PlaywrightError as e:
            log(f"Page.stopLoading failed: {e}")

    def extract(self, body):
        page, mode, selector = self.page(), body.get("mode", "text"), body.get("selector")
        timeout = timeout_ms(body, ACTION_TIMEOUT_MS)
        if mode not in ("text", "links", "html"):
            raise ApiError(400, "invalid_request", "mode must be text, links or html")
        try:
            if mode == "text":
                text, cut = utf8_cap(page.locator(selector or "body").first.inner_text(timeout=timeout))
                return {"text": text, "truncated": cut}
            if mode == "html":
                html = page.locator(selector).first.evaluate("e => e.outerHTML", timeout=timeout) if selector \
                    else page.content()
                html, cut = utf8_cap(html)
                return {"html": html, "truncated": cut}
            found = page.locator(selector or ":root").first.evaluate(LINKS_JS, timeout=timeout)
        except PlaywrightTimeout:
            raise ApiError(404, "element_not_found", f"no element matches {selector!r} in time")
        links, size = [], 0
        for link in found[:MAX_LINKS]:  # at most 500 links and MAX_TEXT_BYTES of them
            size += len(json.dumps(link).encode("utf-8"))
            if size > MAX_TEXT_BYTES:
                break
            links.append(link)
        return {"links": links, "truncated": len(links) < len(found)}

    def screenshot(self, body):
        path, selector = str_field(body, "path"), body.get("selector")
        if not (os.path.isabs(path) and path.endswith(".png")):
            raise ApiError(400, "invalid_request", "path must be an absolute path ending in .png")
        page, timeout = self.page(), timeout_ms(body, ACTION_TIMEOUT_MS)
        try:
            png = page.locator(selector).first.screenshot(timeout=timeout) if selector \
                else page.screenshot(full_page=bool(body.get("fullPage")), timeout=timeout)
        except PlaywrightTimeout:
            raise ApiError(404, "element_not_found", f"no element matches {selector!r} in time")
        try:
            with open(path, "wb") as f:
                f.write(png)
        except OSError as e:
            raise ApiError(400, "invalid_request", f"cannot write {path}: {e.strerror}")
        width, height = struct.unpack(">II", png[16:24])  # IHDR, the chunk after the 8-byte signature
        return {"path": path, "width": width, "height": height, "bytes": len(png)}

    def evaluate(self, body):
        """Runs `expression` as a script in the page's main world with CDP Runtime.evaluate (not
        subject to the page's CSP; `let`, several statements work). Its `timeout` stops runaway
        synchronous code; SETTLE_JS bounds a promise. JSON values come back as they are, anything
        else (NaN, bigint, undefined, DOM nodes, cyclic objects) as its string form."""
        expression, timeout = str_field(body, "expression"), timeout_ms(body, ACTION_TIMEOUT_MS)
        cdp = self.context.new_cdp_session(self.page())

        def call(method, **params):
            reply = cdp.send(method, params)
            details = reply.get("exceptionDetails")
            if details:
                text = (details.get("exception") or {}).get("description") or details.get("text", "exception")
                if "__persona_timeout__" in text:
                    raise ApiError(504, "evaluate_timeout", f"evaluation did not finish within {timeout} ms")
                raise ApiError(400, "evaluation_error", text.splitlines()[0][:2000])
            return reply["result"]

        try:
            obj = call("Runtime.evaluate", expression=expression, timeout=timeout, userGesture=True)
            if obj.get("objectId"):
                obj = call("Runtime.callFunctionOn", objectId=obj["objectId"], functionDeclaration=SETTLE_JS,
                           arguments=[{"value": timeout}], awaitPromise=True)
            if obj.get("objectId") and obj.get("subtype") != "node":
                try:
                    obj = call("Runtime.callFunctionOn", objectId=obj["objectId"], returnByValue=True,
                               functionDeclaration="function() { return this; }")
                except PlaywrightError:
                    pass  # cyclic or too deep for JSON: its description below
            value = obj["value"] if "value" in obj else obj.get("unserializableValue") or obj.get("description") \
                or obj.get("type")
            return {"result": value}
        except PlaywrightError as e:
            if "Execution was terminated" in str(e):
                raise ApiError(504, "evaluate_timeout", f"evaluation did not finish within {timeout} ms")
            raise
        finally:
            try:
                cdp.detach()
            except PlaywrightError:
                pass


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30  # seconds a client may take to send its request
    routes = {("GET", "/health"): "health", ("POST", "/v1/navigate"): "navigate", ("POST", "/v1/click"): "click",
              ("POST", "/v1/type"): "type", ("POST", "/v1/extract"): "extract",
              ("POST", "/v1/screenshot"): "screenshot", ("POST", "/v1/evaluate"): "evaluate"}

    def do_GET(self):
        browser, started = self.server.browser, time.monotonic()
        try:
            route = self.routes.get((self.command, self.path.split("?")[0]))
            if route is None:
                raise ApiError(404, "not_found", f"no route {self.command} {self.path}")
            body = self.read_json()
            # Longest a route may legitimately take: an element wait, then a load (timeoutMs or 30 s each).
            wait_ms = body.get("timeoutMs") if isinstance(body.get("timeoutMs"), int) else NAVIGATE_TIMEOUT_MS
            browser.deadline = started + WEDGED_GRACE_S + 2 * min(max(wait_ms, 0), 600000) / 1000
            browser.sync()
            status, payload = 200, getattr(browser, route)(body)
        except ApiError as e:
            status, payload = e.status, {"error": str(e), "code": e.code}
        except Exception as e:  # from Playwright, or a bug: the first line of the message goes back
            message = (str(e).splitlines() or [type(e).__name__])[0][:2000]
            browser.lost = browser.lost or not browser.browser.is_connected()
            if browser.lost:
                status, payload = 502, {"error": message, "code": "browser_disconnected"}
            elif "while parsing" in message or "Unknown engine" in message:
                status, payload = 400, {"error": message, "code": "invalid_selector"}
            else:
                status, payload = 500, {"error": message, "code": "browser_error"}
        data = json.dumps(payload).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()
        log(f"{self.command} {self.path} {status} {(time.monotonic() - started) * 1000:.0f}ms")
        browser.deadline = None
        if browser.lost:
            log("CDP connection lost; exiting")
            stop(EXIT_BROWSER_LOST)

    do_POST = do_PUT = do_DELETE = do_GET

    def read_json(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_REQUEST_BYTES:
            raise ApiError(400, "invalid_request", "request body too large")
        raw = self.rfile.read(length) if length else b""
        if self.command == "GET" and not raw:
            return {}
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise ApiError(400, "invalid_request", "the body must be a JSON object")
        return body

    def log_request(self, code="-", size="-"):  # do_GET logs one line per request
        pass

    def log_message(self, fmt, *args):  # http.server's own complaints (malformed requests)
        log(fmt % args)


def watchdog(browser, host, port):
    """Exits 3 when chromium is gone or wedged. Playwright notices a dead browser only while it is
    called; between requests nothing listening on the CDP port any more is the sign. A request far past
    its timeouts means chromium holds its DevTools commands (a navigation that never commits): only a
    restart of chromium helps, so the supervisor gets exit 3 too."""
    while True:
        time.sleep(1)
        deadline = browser.deadline
        if deadline is not None and time.monotonic() > deadline:
            log("a request is stuck far past its timeout: chromium is wedged; exiting")
            stop(EXIT_BROWSER_LOST)
        try:
            socket.create_connection((host, port), timeout=2).close()
        except ConnectionRefusedError:
            browser.lost = True
            if browser.deadline is None:  # otherwise the request in progress answers, then exits
                log("chromium is gone (CDP port closed); exiting")
                stop(EXIT_BROWSER_LOST)
        except OSError:
            pass  # slow or busy is no proof of death


def main():
    started = time.monotonic()
    # os._exit from the handler: an exception raised there could be swallowed inside Playwright's loop.
    signal.signal(signal.SIGTERM, lambda *_: stop(0))
    browser = Browser()
    cdp = urlparse(CDP)
    threading.Thread(target=watchdog, args=(browser, cdp.hostname, cdp.port or 80), daemon=True).start()
    if os.path.exists(SOCKET_PATH):
        os.unlink(SOCKET_PATH)  # the socket of a previous run
    for stale in glob.glob(os.path.join(tempfile.gettempdir(), "playwright-artifacts-*")):
        try:
            os.rmdir(stale)  # left empty by earlier runs ended with os._exit; a busy one stays
        except OSError:
            pass
    old_umask = os.umask(0o177)  # no window in which the socket is wider than chmod below makes it
    server = socketserver.UnixStreamServer(SOCKET_PATH, Handler)
    os.umask(old_umask)
    # The supervisor (root without CAP_DAC_OVERRIDE) must connect; the directory is 0711.
    os.chmod(SOCKET_PATH, 0o666)
    server.browser = browser
    log(f"connected to chromium {browser.browser.version} at {CDP}; serving {SOCKET_PATH} "
        f"after {(time.monotonic() - started) * 1000:.0f} ms")
    try:
        server.serve_forever(poll_interval=0.5)
    except KeyboardInterrupt:
        stop(0)


def stop(code):
    try:
        os.unlink(SOCKET_PATH)
    except OSError:
        pass
    log(f"stopped ({code})")
    os._exit(code)  # skips Playwright's teardown, which could close pages of the shared browser


if __name__ == "__main__":
    main()
