"""`sheetpipe serve`: an embeddable lead form and a webhook, journaled before answering.

    GET  /form        the form (put it in an iframe on your site, or copy its HTML)
    POST /form        the form's submission: a thank-you page, or the form again with
                      what to correct
    POST /api/leads   a website's own form or a form service's webhook: JSON or
                      form-encoded fields; 201 {"id": …}

A submission is committed to the journal (sheetpipe/journal.py) before the 2xx answer;
the next cycle moves it into the intake tab. Defences against spam and abuse: a honeypot
field people never see (a bot that fills it is thanked and forgotten), a minimum fill
time carried by a signed token (a form sent back faster than a person types is refused),
a per-address rate limit, size limits, e-mail syntax checked without DNS. Nothing a
visitor typed is echoed unescaped: pages are Jinja2 with autoescape, JSON answers carry
no input.

Limits: the rate limit is per process and in memory (behind a reverse proxy on the same
machine, uvicorn takes the client's address from X-Forwarded-For); no CAPTCHA.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field

import jinja2
from email_validator import EmailNotValidError, validate_email
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from sheetpipe.config import ServeConfig
from sheetpipe.journal import Journal
from sheetpipe.layout import template_text

FIELDS = ("Name", "Email", "Company", "Phone", "Message")
HONEYPOT = "website"  # a field a person never sees; bots fill every field
MAX_BODY = 16_384  # bytes a submission may take
MAX_FIELD = 2_000  # characters in one field


@dataclass
class FormRules:
    """What the form asks and allows; the defaults are [serve]'s (config.ServeConfig)."""

    min_seconds: float = ServeConfig.min_seconds  # a person takes longer to fill it in
    per_minute: int = ServeConfig.per_minute  # submissions one address may make a minute
    fields: tuple[str, ...] = FIELDS
    title: str = ServeConfig.title


@dataclass
class RateLimit:
    per_minute: int
    seen: dict[str, deque[float]] = field(default_factory=lambda: defaultdict(deque))

    def allow(self, who: str, now: float) -> bool:
        times = self.seen[who]
        while times and now - times[0] > 60:
            times.popleft()
        if len(times) >= self.per_minute:
            return False
        times.append(now)
        return True


def make_app(journal: Journal, rules: FormRules | None = None) -> Starlette:
    rules = rules or FormRules()
    secret = journal.secret()
    limit = RateLimit(rules.per_minute)
    pages = jinja2.Environment(
        loader=jinja2.FunctionLoader(template_text),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )

    def page(values: dict[str, str], problems: list[str], status: int = 200) -> HTMLResponse:
        html = pages.get_template("form.html").render(
            title=rules.title, fields=rules.fields, values=values, problems=problems,
            token=_token(secret, time.time()), honeypot=HONEYPOT,
        )  # fmt: skip
        return HTMLResponse(html, status_code=status)

    async def form(request: Request) -> Response:
        if request.method == "GET":
            return page({}, [])
        refused = _too_big(request) or _limited(limit, request)
        if refused is not None:
            return HTMLResponse(f"<p>{refused[1]}</p>", status_code=refused[0])
        # Browsers send a textarea's line breaks as CRLF (the HTML standard): kept as \n.
        data = {k: str(v).replace("\r\n", "\n") for k, v in (await request.form()).items()}
        values = {f: data.get(f, "").strip() for f in rules.fields}
        if data.get(HONEYPOT):
            return HTMLResponse(pages.get_template("thanks.html").render(title=rules.title))
        problems = _problems(values)
        if not _filled_slowly(secret, data.get("_token", ""), rules.min_seconds, time.time()):
            problems.append("The form came back too quickly. Please check it and send it again.")
        if problems:
            return page(values, problems, 400)
        journal.add({k: v for k, v in values.items() if v})
        return HTMLResponse(pages.get_template("thanks.html").render(title=rules.title))

    async def api(request: Request) -> Response:
        refused = _too_big(request) or _limited(limit, request)
        if refused is not None:
            return JSONResponse({"error": refused[1]}, status_code=refused[0])
        try:
            if request.headers.get("content-type", "").startswith("application/json"):
                data = await request.json()
            else:
                data = dict(await request.form())
        except ValueError:
            return JSONResponse({"error": "the body is not JSON or form fields"}, 400)
        if not isinstance(data, dict):
            return JSONResponse({"error": 'send an object of fields, e.g. {"Email": …}'}, 400)
        values = {f: str(data.get(f) or data.get(f.lower()) or "").strip() for f in FIELDS}
        if data.get(HONEYPOT):
            return JSONResponse({"id": "ignored"}, status_code=202)
        problems = _problems(values)
        if problems:
            return JSONResponse({"error": " ".join(problems)}, status_code=422)
        source = str(data.get("Source") or data.get("source") or "webhook")[:100]
        submission = journal.add({**{k: v for k, v in values.items() if v}, "Source": source})
        return JSONResponse({"id": submission}, status_code=201)

    return Starlette(routes=[Route("/form", form, methods=["GET", "POST"]),
                             Route("/api/leads", api, methods=["POST"])])  # fmt: skip


def _token(secret: bytes, now: float) -> str:
    issued = str(int(now))  # floored: a token is never from the future
    return issued + "." + hmac.new(secret, issued.encode(), hashlib.sha256).hexdigest()


def _filled_slowly(secret: bytes, token: str, min_seconds: float, now: float) -> bool:
    issued, _, signature = token.partition(".")
    want = hmac.new(secret, issued.encode(), hashlib.sha256).hexdigest()
    if not issued.isdigit() or not hmac.compare_digest(want, signature):
        return False
    return min_seconds <= now - int(issued) <= 24 * 3600


def _problems(values: dict[str, str]) -> list[str]:
    problems = []
    if any(len(v) > MAX_FIELD for v in values.values()):
        problems.append(f"A field is longer than {MAX_FIELD} characters.")
    if not values.get("Email") and not values.get("Phone"):
        problems.append("Please give an e-mail address or a phone number.")
    if values.get("Email"):
        try:
            validate_email(values["Email"], check_deliverability=False)
        except EmailNotValidError:
            problems.append("The e-mail address is not valid.")
    return problems


def _too_big(request: Request) -> tuple[int, str] | None:
    length = request.headers.get("content-length")
    if length is None or not length.isdigit() or int(length) > MAX_BODY:
        return 413, f"A submission takes at most {MAX_BODY} bytes, with its length given."
    return None


def _limited(limit: RateLimit, request: Request) -> tuple[int, str] | None:
    who = request.client.host if request.client else "?"
    if not limit.allow(who, time.monotonic()):
        return 429, "Too many submissions from this address; please try again in a minute."
    return None
