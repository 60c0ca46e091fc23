#!/usr/bin/env python3
"""Drives the web console (issue 18) in a real browser: Playwright for Python (sync API) launching
Debian's chromium (never a downloaded one), axe-core through axe-playwright-python.

    python console_e2e.py --base-url URL --scenario NAME --screenshots DIR
                          [--email E --password P] [--chromium PATH] [--timeout SECONDS]
                          [--expect-fonts] [--param KEY=VALUE ...]

Prints ONE JSON object as the last line of stdout (progress goes to stderr):
    {"ok": bool, "scenario": ..., "checks": [{"name", "ok", "detail"}],
     "screenshots": [paths], "axe": {page: [serious/critical violations]}}
and exits 0 only when every check passed and axe found no serious or critical violation.
Every check records a result and the scenario goes on where that still makes sense; a step the
rest depends on (signing in) stops it. Waits time out after 15 s; the whole run after --timeout
(default 120 s), which prints what was found so far and exits 3.

Scenarios are functions `scenario_<name>(run)` listed in SCENARIOS at the bottom.
"""

import argparse
import base64
import contextlib
import json
import os
import re
import sys
import threading
import time
import traceback
from urllib.parse import urlparse

from playwright.sync_api import sync_playwright

WAIT_MS = 15_000
DESKTOP = (1440, 900)
PHONE = (390, 844)
SERIOUS = ("serious", "critical")


def log(message):
    print(f"console_e2e: {message}", file=sys.stderr, flush=True)


def norm(value):
    """A CSS value compared loosely: lower case, no whitespace, no quotes."""
    return re.sub(r"\s+", "", str(value or "")).replace('"', "").replace("'", "").lower()


def px(value):
    match = re.match(r"^\s*(-?[\d.]+)px\s*$", str(value or ""))
    return float(match.group(1)) if match else None


def first_family(value):
    return str(value or "").split(",")[0].strip().strip('"').strip("'")


class Abort(Exception):
    """A step the rest of the scenario depends on failed."""


class Run:
    def __init__(self, args):
        self.args = args
        self.base = args.base_url.rstrip("/")
        self.checks = []
        self.screenshots = []
        self.axe_results = {}
        self.page_errors = []
        self.csp_errors = []
        self.lock = threading.Lock()
        self.finished = False
        self.page = None
        self.probe = None

    # -- results ---------------------------------------------------------------------------------

    def check(self, name, ok, detail=""):
        ok = bool(ok)
        with self.lock:
            self.checks.append({"name": name, "ok": ok, "detail": str(detail)[:2000]})
        log(f"{'ok  ' if ok else 'FAIL'} {name}{'' if ok and not detail else f' -- {detail}'}")
        return ok

    def expect_equal(self, name, actual, expected, compare=norm):
        return self.check(name, compare(actual) == compare(expected), f"got {actual!r}, want {expected!r}")

    @contextlib.contextmanager
    def step(self, name, fatal=False):
        """Runs a block; an exception becomes a failed check named `name` (and stops the scenario
        when `fatal`)."""
        try:
            yield
        except Abort:
            raise
        except Exception as error:  # noqa: BLE001 - every failure becomes a check
            lines = str(error).strip().splitlines()
            self.check(name, False, f"{type(error).__name__}: {' | '.join(lines[:6])}")
            if fatal:
                raise Abort(name) from error

    def result(self):
        with self.lock:
            axe_clean = all(not violations for violations in self.axe_results.values())
            return {
                "ok": bool(self.checks) and all(c["ok"] for c in self.checks) and axe_clean,
                "scenario": self.args.scenario,
                "checks": list(self.checks),
                "screenshots": list(self.screenshots),
                "axe": dict(self.axe_results),
            }

    def finish(self, exit_code=None):
        """Prints the JSON line once (from the main thread or the watchdog)."""
        with self.lock:
            if self.finished:
                return None
            self.finished = True
        result = self.result()
        sys.stdout.write(json.dumps(result) + "\n")
        sys.stdout.flush()
        return exit_code if exit_code is not None else (0 if result["ok"] else 1)

    # -- navigation ------------------------------------------------------------------------------

    def url(self, path):
        return self.base + path

    def path(self, page=None):
        return urlparse((page or self.page).url).path

    def goto(self, path):
        self.page.goto(self.url(path), wait_until="load")
        self.ready()

    def ready(self, timeout=WAIT_MS):
        """Waits until the page's module has mounted (html[data-ready]): before that, clicks find
        no handlers."""
        self.page.wait_for_selector("html[data-ready]", state="attached", timeout=timeout)

    def wait_for_path(self, path, timeout=WAIT_MS):
        self.page.wait_for_url(lambda url: urlparse(url).path == path, timeout=timeout)

    # -- helpers the scenarios share -------------------------------------------------------------

    def login(self, email, password, expect_success=True):
        """Fills #login-form on /login and submits it. With expect_success, waits until the
        browser has left /login; otherwise returns right after the click."""
        page = self.page
        if self.path() != "/login":
            self.goto("/login")
        page.fill("#login-form input[name=email]", email)
        page.fill("#login-form input[name=password]", password)
        page.click("#login-form [type=submit]")
        if expect_success:
            page.wait_for_url(lambda url: urlparse(url).path != "/login", timeout=WAIT_MS)
            self.ready()

    def settle(self):
        """Waits for web fonts and two animation frames, so a screenshot shows the laid-out page."""
        self.page.evaluate(
            "() => document.fonts.ready.then(() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r))))"
        )

    def screenshot(self, name):
        """Screenshots the viewport at 1440x900 and at 390x844 into DIR/<name>-<w>x<h>.png,
        checks each is not blank, and leaves the page at 1440x900."""
        paths = []
        for width, height in (DESKTOP, PHONE):
            label = f"screenshot {name} {width}x{height}"
            with self.step(label):
                self.page.set_viewport_size({"width": width, "height": height})
                self.settle()
                path = os.path.join(self.args.screenshots, f"{name}-{width}x{height}.png")
                png = self.page.screenshot(path=path, animations="disabled")
                with self.lock:
                    self.screenshots.append(path)
                paths.append(path)
                stats = self.image_stats(png)
                ok = (stats["width"], stats["height"]) == (width, height) and stats["colors"] >= 16 \
                    and stats["dominant"] < 0.98
                self.check(f"{label} is not blank", ok,
                           f"{path}: {stats['width']}x{stats['height']}, {stats['colors']} colours, "
                           f"most common colour covers {stats['dominant']:.1%}")
        self.page.set_viewport_size({"width": DESKTOP[0], "height": DESKTOP[1]})
        return paths

    def image_stats(self, png):
        """Decodes a PNG in a separate blank page (chromium's decoder, a canvas) and counts its
        colours: a blank or single-colour screenshot has one colour covering everything."""
        data = "data:image/png;base64," + base64.b64encode(png).decode()
        return self.probe.evaluate(
            """async (src) => {
                const image = new Image();
                image.src = src;
                await image.decode();
                const canvas = document.createElement('canvas');
                canvas.width = image.naturalWidth; canvas.height = image.naturalHeight;
                const context = canvas.getContext('2d', { willReadFrequently: true });
                context.drawImage(image, 0, 0);
                const pixels = new Uint32Array(context.getImageData(0, 0, canvas.width, canvas.height).data.buffer);
                const counts = new Map();
                for (const p of pixels) counts.set(p, (counts.get(p) || 0) + 1);
                let top = 0;
                for (const n of counts.values()) top = Math.max(top, n);
                return { width: canvas.width, height: canvas.height, colors: counts.size,
                         dominant: pixels.length ? top / pixels.length : 1 };
            }""",
            data,
        )

    def axe(self, name):
        """Runs axe-core on the current page; keeps (and returns) the serious and critical
        violations under `name` in the result's "axe"."""
        from axe_playwright_python.sync_playwright import Axe

        found = []
        with self.step(f"axe runs on {name}"):
            response = Axe().run(self.page).response
            for violation in response.get("violations", []):
                if violation.get("impact") in SERIOUS:
                    found.append({
                        "id": violation.get("id"),
                        "impact": violation.get("impact"),
                        "help": violation.get("help"),
                        "nodes": [
                            {"target": node.get("target"), "summary": (node.get("failureSummary") or "")[:300]}
                            for node in violation.get("nodes", [])[:5]
                        ],
                    })
            log(f"axe {name}: {len(found)} serious/critical violation(s)"
                + "".join(f"\n    {v['impact']} {v['id']}: {v['help']} {[n['target'] for n in v['nodes']]}" for v in found))
            with self.lock:
                self.axe_results[name] = found
        return found

    def style(self, selector, properties, pseudo=None):
        """The computed values of `properties` on the first element matching `selector` (None when
        nothing matches)."""
        return self.page.evaluate(
            """([selector, properties, pseudo]) => {
                const element = document.querySelector(selector);
                if (!element) return null;
                const style = getComputedStyle(element, pseudo);
                return Object.fromEntries(properties.map(p => [p, style.getPropertyValue(p).trim()]));
            }""",
            [selector, properties, pseudo],
        )

    def check_tokens(self, where):
        """The seed's design tokens as CSS variables on :root, exactly."""
        tokens = {
            "--color-primary": "#7E5DFF",
            "--color-secondary": "#FFA726",
            "--color-background": "#0B0F1E",
            "--color-panel": "#13182B",
            "--color-outline": "rgba(255,255,255,0.08)",
            "--gradient-primary": "linear-gradient(135deg,#7E5DFF,#4DA0FC)",
        }
        values = self.style(":root", list(tokens))
        for token, expected in tokens.items():
            self.expect_equal(f"{where}: {token} is {expected}", values.get(token), expected)
        body = self.style("body", ["background-color", "font-size", "font-family"])
        self.expect_equal(f"{where}: body background-color", body["background-color"], "rgb(11, 15, 30)")
        self.expect_equal(f"{where}: body font-size", body["font-size"], "16px")
        self.check(f"{where}: body font-family starts with Inter", first_family(body["font-family"]) == "Inter",
                   body["font-family"])

    def check_fonts_loaded(self, where):
        """With --expect-fonts: the served Inter and Space Grotesk faces really loaded (not a system
        fallback)."""
        faces = self.page.evaluate(
            """() => document.fonts.ready.then(() => [...document.fonts].map(f => ({
                family: f.family.replace(/["']/g, ''), status: f.status, weight: f.weight })))"""
        )
        for family in ("Inter", "Space Grotesk"):
            loaded = [f for f in faces if f["family"] == family and f["status"] == "loaded"]
            self.check(f"{where}: font {family} loaded from the server", loaded, json.dumps(faces))


# -- scenarios ------------------------------------------------------------------------------------

def scenario_shell(run):
    """Login (wrong and right password), the design tokens, the dashboard shell at both sizes,
    axe on both pages, logout ending the session."""
    page = run.page
    args = run.args
    if not args.email or not args.password:
        run.check("scenario shell has --email and --password", False, "both are required")
        return

    with run.step("GET /login", fatal=True):
        run.goto("/login")
        run.check("GET /login lands on /login", run.path() == "/login", page.url)

    with run.step("login form"):
        form = page.locator("form#login-form")
        run.check("login page has form#login-form", form.count() == 1, f"{form.count()} found")
        run.check("login form has input[name=email]", form.locator("input[name=email]").count() == 1)
        run.check("login form has input[name=password]", form.locator("input[name=password]").count() == 1)

    with run.step("login page styles"):
        run.check_tokens("login")
        run.check(".glass-panel on the login page", page.locator(".glass-panel").count() > 0)
        button = run.style(".neon-button", ["text-transform", "letter-spacing", "font-weight", "font-size"])
        if run.check(".neon-button on the login page", button is not None):
            run.expect_equal(".neon-button text-transform", button["text-transform"], "uppercase")
            run.expect_equal(".neon-button font-weight", button["font-weight"], "600")
            size, spacing = px(button["font-size"]), px(button["letter-spacing"])
            run.check(".neon-button letter-spacing is 0.08em",
                      size is not None and spacing is not None and abs(spacing - 0.08 * size) < 0.02,
                      f"letter-spacing {button['letter-spacing']} at font-size {button['font-size']} "
                      f"(want {0.08 * (size or 0):.2f}px)")

    with run.step("keyboard focus ring on .neon-button"):
        page.locator("#login-form input[name=email]").focus()
        focused = False
        for _ in range(20):
            page.keyboard.press("Tab")
            if page.evaluate("() => document.activeElement?.matches('.neon-button') ?? false"):
                focused = True
                break
        if run.check(".neon-button reachable with Tab", focused,
                     page.evaluate("() => document.activeElement?.outerHTML.slice(0, 120)")):
            # The shadow may transition in; poll briefly, then report what is there.
            with contextlib.suppress(Exception):
                page.wait_for_function(
                    """() => getComputedStyle(document.activeElement).boxShadow.includes('0px 0px 0px 3px')""",
                    timeout=2000,
                )
            shadow = page.evaluate("() => getComputedStyle(document.activeElement).boxShadow")
            run.check("focused .neon-button shows the focus ring 0 0 0 3px rgba(126,93,255,0.35)",
                      "rgba(126, 93, 255, 0.35)" in shadow and "0px 0px 0px 3px" in shadow, shadow)

    with run.step("reduced motion turns off the shimmer"):
        names = "() => { const e = document.querySelector('.shimmer-surface'); if (!e) return null;" \
                " return [getComputedStyle(e).animationName, getComputedStyle(e, '::after').animationName,"\
                " getComputedStyle(e, '::before').animationName]; }"
        page.emulate_media(reduced_motion="no-preference")
        moving = page.evaluate(names)
        if run.check(".shimmer-surface on the login page", moving is not None):
            run.check(".shimmer-surface animates without reduced motion", any(n != "none" for n in moving),
                      f"animation-name (element, ::after, ::before): {moving}")
            page.emulate_media(reduced_motion="reduce")
            still = page.evaluate(names)
            run.check("prefers-reduced-motion: .shimmer-surface animation-name is none",
                      all(n == "none" for n in still), f"animation-name (element, ::after, ::before): {still}")
        page.emulate_media(reduced_motion="no-preference")

    if args.expect_fonts:
        with run.step("login: fonts loaded"):
            run.check_fonts_loaded("login")

    run.screenshot("login")
    run.axe("login")

    with run.step("wrong password shows an error"):
        run.login(args.email, args.password + "-wrong", expect_success=False)
        error = page.locator("[data-bind=login-error]")
        error.wait_for(state="visible", timeout=WAIT_MS)
        text = error.inner_text().strip()
        run.check("wrong password: [data-bind=login-error] visible with text", bool(text), repr(text))
        run.check("wrong password: still on /login", run.path() == "/login", page.url)

    with run.step("sign in with the right password", fatal=True):
        run.login(args.email, args.password)
        run.wait_for_path("/")
        run.check("signed in: at /", run.path() == "/", page.url)

    with run.step("dashboard shows the user"):
        page.wait_for_function(
            "() => (document.querySelector('[data-bind=user-name]')?.textContent ?? '').trim() !== ''",
            timeout=WAIT_MS,
        )
        name = page.locator("[data-bind=user-name]").inner_text().strip()
        run.check("dashboard: [data-bind=user-name] not empty", bool(name), repr(name))

    with run.step("dashboard styles"):
        page.set_viewport_size({"width": DESKTOP[0], "height": DESKTOP[1]})
        run.check_tokens("dashboard")
        h1 = run.style("h1", ["font-size", "font-family"])
        if run.check("dashboard has an h1", h1 is not None):
            run.expect_equal("dashboard h1 font-size at 1440x900", h1["font-size"], "48px")
            run.check("dashboard h1 font-family starts with Space Grotesk",
                      first_family(h1["font-family"]) == "Space Grotesk", h1["font-family"])
        run.check(".glass-panel on the dashboard", page.locator(".glass-panel").count() > 0)
        toggle = page.locator(".rail-toggle")
        run.check("1440x900: .rail-toggle hidden", toggle.count() == 1 and not toggle.is_visible())

    if args.expect_fonts:
        with run.step("dashboard: fonts loaded"):
            run.check_fonts_loaded("dashboard")

    run.screenshot("dashboard")
    run.axe("dashboard")

    with run.step("390x844: the rail collapses"):
        page.set_viewport_size({"width": PHONE[0], "height": PHONE[1]})
        run.settle()
        rail = page.locator("nav.rail").bounding_box()
        main = page.locator("#main")
        main_box = main.bounding_box()
        run.check("390x844: nav.rail fits the width", rail is not None and rail["width"] <= PHONE[0],
                  f"rail box {rail}")
        run.check("390x844: #main visible within the viewport",
                  main.is_visible() and main_box is not None and main_box["x"] >= 0
                  and main_box["x"] + main_box["width"] <= PHONE[0] + 0.5, f"#main box {main_box}")
        overflow = page.evaluate("() => document.documentElement.scrollWidth")
        run.check("390x844: no horizontal scrolling", overflow <= PHONE[0], f"scrollWidth {overflow}")
        toggle = page.locator(".rail-toggle")
        links = page.locator("nav.rail .rail-links")
        if run.check("390x844: .rail-toggle visible", toggle.is_visible()):
            run.check("390x844: rail links hidden until the toggle opens them", not links.is_visible())
            toggle.click()
            run.check("390x844: the toggle opens the rail links", links.is_visible(),
                      f"aria-expanded={toggle.get_attribute('aria-expanded')}")
            toggle.click()
        page.set_viewport_size({"width": DESKTOP[0], "height": DESKTOP[1]})

    refreshes = []
    page.on("response", lambda r: refreshes.append(r.status) if urlparse(r.url).path == "/api/auth/session/refresh" else None)
    with run.step("logout"):
        page.click("button[data-action=logout]")
        run.wait_for_path("/login")
        run.check("logout lands on /login", run.path() == "/login", page.url)
    with run.step("after logout, / sends the browser back to /login"):
        refreshes.clear()
        run.goto("/")
        run.wait_for_path("/login")
        run.check("after logout: / redirects to /login", run.path() == "/login", page.url)
        run.check("after logout: POST /api/auth/session/refresh answered 401", 401 in refreshes,
                  f"refresh statuses {refreshes}")


def scenario_journey(run):
    """The issue's walk through the console with a real container and the scripted LLM:
    create a persona, start it and watch it become ready live, demand approval for shell,
    keep a secret, add a viewer, make an agent, start a run and watch its timeline fill in
    live, approve its step, upload a document and search memory, visit every page
    (screenshots, axe), then sign in as the viewer: no secret, no start, no approve."""
    page = run.page
    params = run.args.params
    secret_value = params.get("secret_value", "s3cr3t-console-value-4821")
    document = params["document"]

    def marked():
        page.evaluate("() => { window.__stillHere = 1; }")

    def still_here():
        return page.evaluate("() => window.__stillHere === 1")

    def visit(path, name, ready_selector):
        with run.step(f"{name}: {path} loads", fatal=False):
            run.goto(path)
            page.wait_for_selector(ready_selector, state="attached")
            run.check(f"{name}: {path} shows its content", True)
        run.screenshot(name)
        run.axe(name)

    with run.step("sign in as the admin", fatal=True):
        run.login(run.args.email, run.args.password)

    with run.step("create a persona from the personas page", fatal=True):
        run.goto("/personas")
        page.click("[data-action=create-persona]")
        page.fill("#persona-name", "Console journey")
        page.fill("#persona-description", "Made in the browser")
        page.click("#persona-form [type=submit]")
        tile = page.wait_for_selector(".persona-tile[data-persona-id]:has-text('Console journey')")
        persona = tile.get_attribute("data-persona-id")
        run.check("the new persona's tile shows the stopped state", tile.get_attribute("data-state") == "stopped",
                  tile.get_attribute("data-state"))
    run.screenshot("personas")
    run.axe("personas")

    with run.step("start the container and see it become ready without a reload", fatal=True):
        page.click(f".persona-tile[data-persona-id='{persona}']")
        run.wait_for_path(f"/personas/{persona}")
        run.ready()
        page.wait_for_selector("[data-bind=container-state][data-state=stopped]")
        marked()
        page.click("[data-action=container-start]")
        page.wait_for_selector("[data-bind=container-state][data-state=starting], [data-bind=container-state][data-state=ready]",
                               timeout=60000)
        page.wait_for_selector("[data-bind=container-state][data-state=ready]", timeout=90000)
        run.check("container became ready live (same page, no reload)", still_here())
        run.check("stop is offered once it runs", page.is_visible("[data-action=container-stop]"))

    with run.step("demand approval for shell from the tools table", fatal=True):
        box = page.locator("input[aria-label='Require approval for shell']")
        box.wait_for()
        with page.expect_response(lambda r: r.url.endswith("/tools/shell") and r.request.method == "PATCH") as patched:
            box.check()
        run.check("PATCH of shell's approval answered 200", patched.value.status == 200, patched.value.status)

    with run.step("store a secret: its name shows, its value never", fatal=False):
        page.fill("#secret-name", "CONSOLE_TOKEN")
        page.fill("#secret-value", secret_value)
        page.click("[data-bind=secret-form] [type=submit]")
        page.wait_for_selector("[data-bind=secrets] li:has-text('CONSOLE_TOKEN')")
        run.check("the secret's value is nowhere in the page", secret_value not in page.content())

    with run.step("add the viewer as a member", fatal=False):
        page.fill("#member-email", params["viewer_email"])
        page.select_option("#member-role", "viewer")
        page.click("[data-bind=member-form] [type=submit]")
        page.wait_for_selector(f"[data-bind=members] tr:has-text('{params['viewer_email']}')")

    with run.step("edit the persona from its page: the PATCH answers and the new description shows", fatal=False):
        page.click("[data-bind=edit-panel] summary")
        page.fill("#edit-description", "Edited in the browser")
        with page.expect_response(lambda r: r.url.endswith(f"/api/personas/{persona}") and r.request.method == "PATCH") as saved:
            page.click("[data-bind=edit-form] [type=submit]")
        run.check("PATCH of the persona answered 200", saved.value.status == 200, saved.value.status)
        page.wait_for_selector("[data-bind=persona-description]:has-text('Edited in the browser')")
        page.click("[data-bind=edit-panel] summary")

    with run.step("the runtime form: standard image; a browser on it is refused with the API's reason", fatal=False):
        page.wait_for_function("() => document.querySelector('[data-bind=runtime-form]').dataset.image")
        run.check("the runtime form shows the standard image", page.input_value("#runtime-image") == "standard")
        page.check("[data-bind=runtime-form] input[name=eagerBrowser]")
        page.click("[data-bind=runtime-form] [type=submit]")
        page.wait_for_selector("[data-bind=runtime-error]:not([hidden])")
        run.check("the refusal names the desktop image", "desktop" in page.text_content("[data-bind=runtime-error]"),
                  page.text_content("[data-bind=runtime-error]"))
        page.uncheck("[data-bind=runtime-form] input[name=eagerBrowser]")

    with run.step("create an agent with shell", fatal=True):
        page.click("[data-bind=agent-panel] summary")
        page.fill("#agent-name", "Helper")
        page.fill("#agent-tools", "shell")
        page.click("[data-bind=agent-form] [type=submit]")
        page.wait_for_selector("[data-bind=agents] li:has-text('Helper')")
    run.screenshot("persona")
    run.axe("persona")

    def start_run(text):
        run.goto(f"/runs?persona={persona}")
        page.wait_for_selector("[data-bind=start-panel]:not([hidden])")
        page.fill("#run-input", text)
        page.click("[data-bind=start-form] [type=submit]")
        page.wait_for_url(lambda url: urlparse(url).path.startswith("/runs/"), timeout=WAIT_MS)
        run.ready()
        return urlparse(page.url).path.rsplit("/", 1)[-1]

    with run.step("start a run and watch its timeline fill in live", fatal=True):
        first = start_run("Write hello.txt")
        marked()
        page.wait_for_selector("[data-bind=timeline] li[data-step]", timeout=30000)
        page.wait_for_selector("[data-bind=approval]:not([hidden])", timeout=30000)
        run.check("the run waits for approval with shell's arguments shown",
                  "echo hello" in page.text_content("[data-bind=approval-calls]"))
        run.check("timeline and approval arrived without a reload", still_here())
    run.screenshot("run-waiting")
    run.axe("run-waiting")

    with run.step("approve the step; the run completes live", fatal=True):
        page.fill("#approval-comment", "fine by me")
        page.click("[data-action=approve]")
        page.wait_for_selector("[data-bind=run-status][data-state=completed]", timeout=30000)
        run.check("the run's output is on the page", params.get("output", "Wrote hello.txt.") in page.text_content("[data-bind=run-facts]"))
        page.wait_for_selector("[data-bind=timeline] li[data-step] >> text=shell")
        timeline = page.text_content("[data-bind=timeline]")
        run.check("the tool step shows its status and output", "shell · ok" in timeline and '"stdout": "hello' in timeline,
                  timeline[:600])
        run.check("approval and completion arrived without a reload", still_here())
        trace = page.get_attribute("[data-bind=run-facts] a[href^='/audit?traceId=']", "href")
    run.screenshot("run")
    run.axe("run")

    with run.step("a second run waits for approval (for the viewer)", fatal=False):
        second = start_run("Write it again")
        page.wait_for_selector("[data-bind=approval]:not([hidden])", timeout=30000)

    with run.step("upload a document with a progress bar and see it complete", fatal=True):
        run.goto(f"/personas/{persona}/memory")
        page.wait_for_selector("[data-bind=upload-panel]:not([hidden])")
        page.set_input_files("#memory-file", document)
        page.click("[data-bind=upload-form] [type=submit]")
        page.wait_for_selector("[data-bind=uploads] li[data-done] progress")
        run.check("the progress bar reached the end", page.get_attribute("[data-bind=uploads] li[data-done] progress", "value") == "1")
        page.wait_for_selector("[data-bind=documents] tr[data-status=completed]", timeout=60000)

    with run.step("search memory: the matching chunk comes with the words marked", fatal=False):
        page.fill("#memory-query", params.get("query", "lighthouse keeper"))
        page.click("[data-bind=search-form] [type=submit]")
        page.wait_for_selector("[data-bind=results] li mark")
        run.check("the best chunk is from the uploaded document", os.path.basename(document) in page.text_content("[data-bind=results] li"))
    run.screenshot("memory")
    run.axe("memory")

    visit("/", "dashboard", ".card .card-figure")
    visit("/runs", "runs", f"[data-run-id='{first}']")
    visit("/tools", "tools", "[data-bind=tools] tr[data-tool=shell]")
    visit("/tools?q=run+a+command", "tools-search", "[data-bind=tools] tr[data-tool]")
    visit(trace, "audit", "[data-bind=events] tr")
    visit("/admin/users", "users", "[data-bind=users] tr")
    visit("/admin/settings", "settings", "[data-bind=settings-form] input")
    visit("/admin/health", "health", "[data-bind=health] tr")

    with run.step("log out", fatal=True):
        page.click("[data-action=logout]")
        run.wait_for_path("/login")

    with run.step("the viewer sees no secret, no start and no approve", fatal=False):
        run.login(params["viewer_email"], params["viewer_password"])
        run.goto(f"/personas/{persona}")
        page.wait_for_selector("[data-bind=container-state][data-state=ready]")
        page.wait_for_selector("[data-bind=members] tr, [data-bind=secrets] li", state="attached")
        page.wait_for_timeout(300)
        run.check("viewer: no start or stop button", not page.is_visible("[data-action=container-start]")
                  and not page.is_visible("[data-action=container-stop]"))
        run.check("viewer: no secret value on the page", secret_value not in page.content())
        run.check("viewer: no secret form", not page.is_visible("[data-bind=secret-form]"))
        run.check("viewer: no agent form", not page.is_visible("[data-bind=agent-panel]"))
        run.check("viewer: the runtime form is read-only", page.is_disabled("#runtime-image")
                  and not page.is_visible("[data-bind=runtime-form] [type=submit]"))
        run.check("viewer: tool switches are disabled",
                  page.eval_on_selector_all("[data-bind=tools] input", "els => els.length > 0 && els.every(e => e.disabled)"))
        run.screenshot("persona-viewer")
        run.axe("persona-viewer")
        run.goto(f"/runs/{second}")
        page.wait_for_selector("[data-bind=approval]:not([hidden])")
        run.check("viewer: the waiting run shows no approve button", not page.is_visible("[data-action=approve]"))
        run.check("viewer: no cancel button", not page.is_visible("[data-action=cancel-run]"))
        page.click("[data-action=logout]")
        run.wait_for_path("/login")


def scenario_desktop(run):
    """The desktop page of a desktop persona that shows a headed browser: noVNC connects through
    the control plane's proxy (no VNC password in the page), the canvas draws the persona's
    screen, disconnect ends it; a viewer gets no desktop."""
    page = run.page
    params = run.args.params
    persona = params["persona"]

    with run.step("sign in as the admin", fatal=True):
        run.login(run.args.email, run.args.password)

    with run.step("the persona page shows the desktop runtime and links to the desktop", fatal=False):
        run.goto(f"/personas/{persona}")
        page.wait_for_selector("[data-bind=desktop-link]:not([hidden]) a", timeout=20000)
        run.check("the runtime form shows the desktop image", page.input_value("#runtime-image") == "desktop")
        run.check("the desktop link is shown", True)

    with run.step("the desktop connects and the canvas draws the persona's screen", fatal=True):
        run.goto(f"/personas/{persona}/desktop")
        page.wait_for_selector("html[data-desktop=ready]", state="attached", timeout=60000)
        run.check("noVNC reports the session connected", page.text_content("[data-bind=desktop-state]") == "ready")
        colours = 0
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            colours = page.evaluate("""() => {
                const canvas = document.querySelector('.desktop-screen canvas');
                if (!canvas || !canvas.width) return 0;
                const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
                const seen = new Set();
                for (let i = 0; i < data.length; i += 4 * 97) seen.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
                return seen.size;
            }""")
            if colours >= 8:
                break
            page.wait_for_timeout(250)
        run.check("the VNC canvas drew the coloured page (8 or more colours sampled)", colours >= 8, f"{colours} colours")
        run.check("the page holds no VNC password field", page.query_selector("input[type=password]") is None)
    run.screenshot("desktop")
    run.axe("desktop")

    with run.step("disconnect ends the session and offers to reconnect", fatal=False):
        page.click("[data-action=desktop-disconnect]")
        page.wait_for_selector("html[data-desktop=stopped]", state="attached")
        run.check("reconnect is offered", page.is_visible("[data-action=desktop-reconnect]"))

    with run.step("log out", fatal=True):
        page.click("[data-action=logout]")
        run.wait_for_path("/login")

    with run.step("a viewer gets no desktop", fatal=False):
        run.login(params["viewer_email"], params["viewer_password"])
        run.goto(f"/personas/{persona}")
        page.wait_for_selector("[data-bind=container-state][data-state]", state="attached")
        page.wait_for_timeout(300)
        run.check("viewer: no desktop link", not page.is_visible("[data-bind=desktop-link]"))
        run.goto(f"/personas/{persona}/desktop")
        page.wait_for_selector("html[data-desktop=failed]", state="attached")
        run.check("viewer: the page says the desktop needs the editor role", "editor" in page.text_content("[data-bind=desktop-note]"))
        run.check("viewer: no canvas", page.query_selector(".desktop-screen canvas") is None)
        run.screenshot("desktop-viewer")
        run.axe("desktop-viewer")


SCENARIOS = {
    "shell": scenario_shell,
    "journey": scenario_journey,
    "desktop": scenario_desktop,
}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--scenario", required=True, choices=sorted(SCENARIOS))
    parser.add_argument("--screenshots", required=True, help="directory for <name>-<w>x<h>.png")
    parser.add_argument("--email")
    parser.add_argument("--password")
    parser.add_argument("--chromium", default=os.environ.get("PERSONA_TEST_CHROMIUM", "/usr/lib/chromium/chromium"))
    parser.add_argument("--timeout", type=float, default=120, help="seconds for the whole run")
    parser.add_argument("--expect-fonts", action="store_true",
                        help="also check that the served Inter and Space Grotesk faces loaded")
    parser.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                        help="scenario-specific values (run.params)")
    args = parser.parse_args()
    args.params = dict(p.split("=", 1) for p in args.param if "=" in p)
    os.makedirs(args.screenshots, exist_ok=True)
    run = Run(args)

    def watchdog():
        run.check(f"scenario {args.scenario} finished within {args.timeout:g} s", False, "overall timeout")
        code = run.finish(3)
        if code is not None:
            os._exit(code)

    timer = threading.Timer(args.timeout, watchdog)
    timer.daemon = True
    timer.start()
    started = time.monotonic()
    try:
        with sync_playwright() as playwright:
            launch_args = ["--disable-dev-shm-usage"]
            if os.geteuid() == 0:
                launch_args.append("--no-sandbox")  # chromium refuses to run as root with its sandbox
            browser = playwright.chromium.launch(executable_path=args.chromium, headless=True, args=launch_args)
            try:
                context = browser.new_context(viewport={"width": DESKTOP[0], "height": DESKTOP[1]})
                context.set_default_timeout(WAIT_MS)
                context.set_default_navigation_timeout(WAIT_MS)
                run.page = context.new_page()
                run.page.on("pageerror", lambda e: run.page_errors.append(f"{run.path()}: {e}"))
                run.page.on("console", lambda m: run.csp_errors.append(f"{run.path()}: {m.text}")
                            if m.type == "error" and "Content Security Policy" in m.text else None)
                run.probe = browser.new_context().new_page()
                try:
                    SCENARIOS[args.scenario](run)
                except Abort as abort:
                    log(f"stopped after the failed step '{abort}'")
                run.check("no uncaught JavaScript errors", not run.page_errors, "; ".join(run.page_errors[:10]))
                run.check("no Content-Security-Policy violations", not run.csp_errors, "; ".join(run.csp_errors[:10]))
            finally:
                browser.close()
    except Exception as error:  # noqa: BLE001 - the browser itself failed
        run.check("browser run", False, f"{type(error).__name__}: {error}\n{traceback.format_exc()[-1500:]}")
    log(f"scenario {args.scenario} took {time.monotonic() - started:.1f} s")
    timer.cancel()
    code = run.finish()
    sys.exit(3 if code is None else code)


if __name__ == "__main__":
    main()
