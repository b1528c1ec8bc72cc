"""`sheetpipe serve`: an embeddable lead form and a webhook, journaled before answering.

    GET  /form        the form (put it in an iframe on your site, or copy its HTML)
    POST /form        the form's submission: a thank-you page, or the form again with
                      what to correct
    POST /api/leads   a website's own form or a form service's webhook: JSON or
                      form-encoded fields; 201 {"id": …}

A submission is committed to the journal (sheetpipe/web/journal.py) before the 2xx answer;
the next cycle moves it into the intake tab. Defences against spam and abuse:

- the form: a honeypot field people never see, under a name no real form uses (a bot
  that fills it is thanked and forgotten), and a signed token that carries the minimum
  fill time, is good for FORM_LIFETIME and is taken once (the journal remembers it);
- the webhook: an optional shared secret ([serve] webhook_secret_env or _file), as a
  bearer token or an HMAC-SHA256 signature of the body; without it, 401;
- both: a per-address rate limit over a bounded number of addresses, size limits, text
  decoded in the charset the request declares (never silently mangled), e-mail syntax
  checked without DNS, a phone that must look like one. Nothing a visitor typed is
  echoed unescaped: pages are Jinja2 with autoescape, JSON answers carry no input.

The visitor's address is the connection's, or X-Forwarded-For's when the connection
comes from one of [serve] trusted_proxies (uvicorn's ProxyHeadersMiddleware, applied by
the app itself so that one setting decides it). Limits: the rate limit is per process
and in memory; a replayed signed webhook body is taken again (intake's dedupe merges
it); no CAPTCHA.
"""

from __future__ import annotations

import codecs
import hashlib
import hmac
import json
import os
import re
import secrets
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from email import policy
from email.message import Message
from email.parser import BytesParser
from urllib.parse import parse_qsl

import jinja2
from email_validator import EmailNotValidError, validate_email
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from sheetpipe.config import ServeConfig
from sheetpipe.core.tabs.unsubscribe import address_of
from sheetpipe.errors import ConfigError
from sheetpipe.layout import template_text
from sheetpipe.web.journal import Journal

FIELDS = ("Name", "Email", "Company", "Phone", "Message")
# The form's hidden field, which a person never sees and a bot fills. Its name is one no
# real form uses: a site's own form posting `website` to the webhook is not a bot.
HONEYPOT = "sp_hp_url_confirm"
MAX_BODY = 16_384  # bytes a submission may take
MAX_FIELD = 2_000  # characters in one field
MAX_FIELDS = 50  # fields in one submission: a form has a handful
FORM_LIFETIME = 2 * 3600  # seconds a form's token is good for (once)
MAX_ADDRESSES = 10_000  # addresses the rate limit remembers at once
MIN_SECRET = 16  # characters: a shorter webhook secret could be guessed
SIGNATURE_HEADER = "X-Sheetpipe-Signature"  # "sha256=" + hex HMAC-SHA256 of the body
# Line breaks and control characters: a one-line field keeps none (they could split an
# e-mail header or a CSV line downstream); a message keeps its line breaks.
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
CONTROL_BUT_NEWLINE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]+")
PHONE = re.compile(r"\+?[\d\s().\-/]+?(?:\s*(?:ext\.?|x|#)\s*\d{1,6})?", re.IGNORECASE)
PHONE_EXAMPLE = "+44 20 7946 0000"
SENT_ALREADY = "This form was sent already. To send another message, check it and send it again."


class Refusal(Exception):
    """A request sheetpipe answers with `status` and `message` (never the visitor's text)."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


@dataclass
class FormRules:
    """What the form asks and allows; the defaults are [serve]'s (config.ServeConfig)."""

    min_seconds: float = ServeConfig.min_seconds  # a person takes longer to fill it in
    per_minute: int = ServeConfig.per_minute  # submissions one address may make a minute
    fields: tuple[str, ...] = FIELDS
    title: str = ServeConfig.title
    trusted_proxies: tuple[str, ...] = ServeConfig.trusted_proxies
    webhook_secret: bytes | None = None  # None: the webhook takes posts from anyone
    max_addresses: int = MAX_ADDRESSES

    @classmethod
    def of(cls, config: ServeConfig) -> FormRules:
        """[serve]'s rules, with the webhook's secret read now (ConfigError if missing)."""
        return cls(
            min_seconds=config.min_seconds,
            per_minute=config.per_minute,
            title=config.title,
            trusted_proxies=config.trusted_proxies,
            webhook_secret=read_webhook_secret(config),
        )


def read_webhook_secret(config: ServeConfig) -> bytes | None:
    """The secret [serve] names, from its environment variable or file. Missing or too
    short, `serve` does not start: a webhook its owner believes protected must not run open."""
    if config.webhook_secret_env:
        where = f"${config.webhook_secret_env} ([serve] webhook_secret_env)"
        value = os.environ.get(config.webhook_secret_env, "")
    elif config.webhook_secret_file is not None:
        where = f"{config.webhook_secret_file} ([serve] webhook_secret_file)"
        try:
            value = config.webhook_secret_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"the webhook secret cannot be read from {where}: "
                              f"{getattr(exc, 'strerror', None) or exc}") from exc  # fmt: skip
    else:
        return None
    value = value.strip()
    if len(value) < MIN_SECRET:
        raise ConfigError(
            f"the webhook secret in {where} is {'empty' if not value else 'too short'}"
            f": give it at least {MIN_SECRET} characters, e.g. the output of "
            "`openssl rand -hex 32`"
        )
    return value.encode("utf-8")


@dataclass
class RateLimit:
    """Submissions per address in the last minute. It remembers at most `capacity`
    addresses: those quiet for a minute are forgotten first, then the least recently seen
    (under a flood of new addresses, an old one may be forgotten early and start afresh)."""

    per_minute: int
    capacity: int = MAX_ADDRESSES
    seen: OrderedDict[str, deque[float]] = field(default_factory=OrderedDict)

    def allow(self, who: str, now: float) -> bool:
        times = self.seen.pop(who, None) or deque()
        self._forget(now)
        while times and now - times[0] > 60:
            times.popleft()
        self.seen[who] = times  # the most recently seen last
        if len(times) >= self.per_minute:
            return False
        times.append(now)
        return True

    def _forget(self, now: float) -> None:
        """Make room for one address; amortised O(1): each is forgotten once."""
        while self.seen:
            oldest = next(iter(self.seen.values()))
            if len(self.seen) < self.capacity and oldest and now - oldest[-1] <= 60:
                return
            self.seen.popitem(last=False)


_UNSUBSCRIBE = jinja2.Environment(autoescape=True).from_string(
    """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head><body>
{% if address is none %}<p>This link is not valid. Reply to the e-mail with
"unsubscribe" and we will stop.</p>
{% elif done %}<p>{{ address }} will get no more of these e-mails.</p>
{% else %}<form method="post"><p>Stop these e-mails to {{ address }}?</p>
<button type="submit">Unsubscribe</button></form>{% endif %}</body></html>"""
)


def make_app(journal: Journal, rules: FormRules | None = None) -> ASGIApp:
    rules = rules or FormRules()
    limit = RateLimit(rules.per_minute, rules.max_addresses)
    pages = jinja2.Environment(
        loader=jinja2.FunctionLoader(template_text),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    form = FormPage(journal, rules, limit, pages)

    async def api(request: Request) -> Response:
        try:
            submission = await _webhook_submission(journal, rules, limit, request)
        except Refusal as refused:
            headers = {"WWW-Authenticate": "Bearer"} if refused.status == 401 else None
            return JSONResponse({"error": refused.message}, refused.status, headers)
        return JSONResponse({"id": submission}, status_code=201)

    app = Starlette(
        routes=[
            Route("/form", form.answer, methods=["GET", "POST"]),
            Route("/api/leads", api, methods=["POST"]),
            Route("/unsubscribe/{token}", form.unsubscribe, methods=["GET", "POST"]),
        ]
    )
    # The visitor's address for the rate limit: X-Forwarded-For only from a trusted proxy.
    return ProxyHeadersMiddleware(app, trusted_hosts=list(rules.trusted_proxies))


@dataclass
class FormPage:
    """GET and POST /form: the form, and what becomes of it when sent."""

    journal: Journal
    rules: FormRules
    limit: RateLimit
    pages: jinja2.Environment
    _secret: bytes = b""

    def secret(self) -> bytes:
        """The journal's signing key, read on first use (not as the app is made)."""
        if not self._secret:
            self._secret = self.journal.secret()
        return self._secret

    def page(self, values: dict[str, str], problems: list[str], status: int = 200) -> Response:
        html = self.pages.get_template("form.html").render(
            title=self.rules.title,
            fields=self.rules.fields,
            values=values,
            problems=problems,
            token=form_token(self.secret(), time.time()),
            honeypot=HONEYPOT,
        )
        return HTMLResponse(html, status_code=status)

    def thanks(self) -> Response:
        return HTMLResponse(self.pages.get_template("thanks.html").render(title=self.rules.title))

    async def unsubscribe(self, request: Request) -> Response:
        """A nurture e-mail's unsubscribe link. GET shows a button (link checkers and
        previews fetch links, and must not unsubscribe anyone); POST (the button, or a
        mail program's one-click RFC 8058 request) is journaled before it is answered."""
        address = address_of(self.secret(), request.path_params["token"])
        if address is None:
            return HTMLResponse(_UNSUBSCRIBE.render(title=self.rules.title, address=None),
                                status_code=404)  # fmt: skip
        if request.method == "POST":
            self.journal.unsubscribe(address)
        done = request.method == "POST"
        return HTMLResponse(_UNSUBSCRIBE.render(title=self.rules.title, address=address,
                                                done=done))  # fmt: skip

    async def answer(self, request: Request) -> Response:
        if request.method == "GET":
            return self.page({}, [])
        try:
            _check_size_and_rate(self.limit, request)
            data = await read_fields(request)
        except Refusal as refused:
            return self.page({}, [refused.message], refused.status)
        if data.get(HONEYPOT):
            return self.thanks()  # a bot: it learns nothing
        values = {f: _clean(f, _text(data.get(f))) for f in self.rules.fields}
        problems = _problems(values)
        if values.get("Phone") and not _phone_like(values["Phone"]):
            problems.append(
                f"Write only a phone number in Phone, e.g. {PHONE_EXAMPLE} "
                "(anything else can go in Message), or leave it empty."
            )
        token = _text(data.get("_token"))
        problem = _token_problem(self.secret(), token, self.rules.min_seconds, time.time())
        if problems or problem:
            return self.page(values, problems + [problem] * bool(problem), 400)
        return self.keep(token, values)

    def keep(self, token: str, values: dict[str, str]) -> Response:
        """Journal the submission, once per form: a second click on Send is thanked again,
        a form sent back with other text after its first sending is asked to be sent anew."""
        content = hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()
        issued = int(token.partition(".")[0])
        earlier = self.journal.claim_form_token(token, content, issued + FORM_LIFETIME, time.time())
        if earlier == content:
            return self.thanks()
        if earlier is not None:
            return self.page(values, [SENT_ALREADY], 400)  # with a new token
        self.journal.add({k: v for k, v in values.items() if v})
        return self.thanks()


async def _webhook_submission(
    journal: Journal, rules: FormRules, limit: RateLimit, request: Request
) -> str:
    """POST /api/leads: the submission's ID once journaled, or a Refusal."""
    _check_size_and_rate(limit, request)
    if rules.webhook_secret is not None:
        _check_secret(rules.webhook_secret, request.headers, await request.body())
    data = _by_name(await read_fields(request))
    values = {f: _clean(f, _text(data.get(f.casefold()))) for f in FIELDS}
    # A lead is not lost for a phone field a form service filled with other words (there
    # is nobody to ask): its text goes to Message; Phone keeps numbers sales can dial.
    words = "" if _phone_like(values["Phone"]) else values.pop("Phone")
    problems = _problems(values)
    if words and not values["Email"]:
        problems.append(f"Phone holds no phone number (write it like {PHONE_EXAMPLE}).")
    if problems:
        raise Refusal(422, " ".join(problems))
    if words:
        values["Message"] = f"{values['Message']}\n\nPhone as sent: {words}".strip()
    source = _clean("Source", _text(data.get("source")))[:100] or "webhook"
    return journal.add({**{k: v for k, v in values.items() if v}, "Source": source})


def _by_name(data: dict[str, object]) -> dict[str, object]:
    """The webhook's fields by name in any case (`email`, `Email`), a filled one first.
    Fields sheetpipe does not take may hold anything (a service's nested metadata)."""
    taken = {f.casefold(): f for f in (*FIELDS, "Source")}
    by_name: dict[str, object] = {}
    for name, value in data.items():
        key = name.casefold()
        if key in taken and (isinstance(value, bool)
                             or not isinstance(value, str | int | float | None)):  # fmt: skip
            raise Refusal(
                422, f"{taken[key]} must be text or a number, not a list, object or true/false."
            )
        if value not in (None, "") and key not in by_name:
            by_name[key] = value
    return by_name


def _check_secret(secret: bytes, headers: Headers, body: bytes) -> None:
    """The webhook's secret, as `Authorization: Bearer <secret>` or as
    `X-Sheetpipe-Signature: sha256=<hex HMAC-SHA256 of the body>` (compared in constant time)."""
    scheme, _, given = headers.get("authorization", "").partition(" ")
    if scheme.casefold() == "bearer" and given.strip():
        if hmac.compare_digest(given.strip().encode("utf-8", "replace"), secret):
            return
        raise Refusal(401, "the bearer token is not this webhook's secret")
    signature = headers.get(SIGNATURE_HEADER, "").strip()
    if signature:
        want = b"sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest().encode()
        if hmac.compare_digest(signature.lower().encode("utf-8", "replace"), want):
            return
        raise Refusal(
            401,
            f"{SIGNATURE_HEADER} does not match: send sha256= and the hex "
            "HMAC-SHA256 of the exact body, keyed with the webhook's secret",
        )
    raise Refusal(
        401,
        "this webhook needs its secret: send Authorization: Bearer <secret> or "
        f"{SIGNATURE_HEADER}: sha256=<HMAC-SHA256 of the body>",
    )


def form_token(secret: bytes, now: float) -> str:
    """A form's token: when it was issued (floored: never from the future), a nonce (two
    forms given in one second are two forms) and their signature."""
    issued = f"{int(now)}.{secrets.token_hex(8)}"
    return f"{issued}.{hmac.new(secret, issued.encode(), hashlib.sha256).hexdigest()}"


def _token_problem(secret: bytes, token: str, min_seconds: float, now: float) -> str | None:
    """What is wrong with a form's token for the visitor to know, or None."""
    issued, _, signature = token.rpartition(".")
    want = hmac.new(secret, issued.encode("utf-8", "replace"), hashlib.sha256).hexdigest()
    seconds = issued.partition(".")[0]
    # Bytes: compare_digest refuses a str with non-ASCII characters (a forged token).
    if not hmac.compare_digest(want.encode(), signature.encode("utf-8", "replace")):
        return "This form could not be checked. Please check it and send it again."
    age = now - int(seconds)  # signed by us: digits
    if age > FORM_LIFETIME:
        return (
            f"This form expired: it was opened more than {FORM_LIFETIME // 3600} hours ago. "
            "It has been reloaded: please check it and send it again."
        )
    if age < min_seconds:
        return "The form came back too quickly. Please check it and send it again."
    return None


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


def _phone_like(text: str) -> bool:
    """Empty, or a number sales can dial: digits with the usual punctuation, an extension
    at most, and 5 to 17 digits (E.164's 15 and a trunk or international prefix)."""
    if not text:
        return True
    digits = sum(c.isdigit() for c in re.split(r"(?i)ext|x|#", text)[0])
    return bool(PHONE.fullmatch(text)) and 5 <= digits <= 17


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _clean(name: str, text: str) -> str:
    """A field's text as kept: CRLF as \\n (browsers send a textarea's breaks as CRLF),
    control characters out, and a one-line field on one line."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if name == "Message":
        return CONTROL_BUT_NEWLINE.sub("", text).strip()
    return " ".join(CONTROL.sub(" ", text).split())


def _check_size_and_rate(limit: RateLimit, request: Request) -> None:
    length = request.headers.get("content-length", "")
    if not (length.isascii() and length.isdigit()) or int(length) > MAX_BODY:
        raise Refusal(413, f"A submission takes at most {MAX_BODY} bytes, with its length given.")
    who = request.client.host if request.client else "?"
    if not limit.allow(who, time.monotonic()):
        raise Refusal(429, "Too many submissions from this address; please try again in a minute.")


async def read_fields(request: Request) -> dict[str, object]:
    """The submission's fields, decoded in the charset it declares (UTF-8 when it declares
    none). Text that is not valid in it is refused, never replaced by U+FFFD or guessed."""
    header = Message()
    header["content-type"] = request.headers.get("content-type", "")
    kind, charset = header.get_content_type(), header.get_content_charset()
    body = await request.body()
    try:
        codecs.lookup(charset or "utf-8")
    except LookupError as exc:
        raise Refusal(400, "The charset in Content-Type is not one sheetpipe knows: send "
                           "UTF-8.") from exc  # fmt: skip
    try:
        if kind == "application/json" or kind.endswith("+json"):
            fields = _json_fields(body, charset)
        elif kind == "application/x-www-form-urlencoded":
            text = body.decode(charset or "utf-8")  # %-escapes, and careless raw bytes
            fields = _listed(
                parse_qsl(
                    text, keep_blank_values=True, encoding=charset or "utf-8", errors="strict"
                )
            )
        elif kind == "multipart/form-data":
            fields = _multipart_fields(request.headers["content-type"], body, charset or "utf-8")
        else:
            raise Refusal(
                415,
                "Send JSON (application/json) or form fields "
                "(application/x-www-form-urlencoded or multipart/form-data).",
            )
    except (UnicodeDecodeError, LookupError) as exc:  # LookupError: a part's own charset
        said = "UTF-8" if charset is None else "the charset it declares"
        raise Refusal(400, f"The submission's text is not valid {said}: send UTF-8, or declare "
                           "its charset in Content-Type.") from exc  # fmt: skip
    if len(fields) > MAX_FIELDS:
        raise Refusal(400, f"A submission has at most {MAX_FIELDS} fields.")
    return fields


def _json_fields(body: bytes, charset: str | None) -> dict[str, object]:
    try:
        # The whole body decoded first: json.loads would guess the encoding of bytes.
        data = json.loads(body.decode(charset or "utf-8"), parse_constant=_no_constant)
    except RecursionError as exc:  # e.g. thousands of nested [: not a set of fields
        raise Refusal(400, 'The JSON is nested too deeply: send one object of fields, e.g. '
                           '{"Email": …}.') from exc  # fmt: skip
    except UnicodeDecodeError:
        raise
    except ValueError as exc:
        raise Refusal(400, "The body is not valid JSON.") from exc
    if not isinstance(data, dict):
        raise Refusal(400, 'Send one JSON object of fields, e.g. {"Email": …}.')
    return data


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not a field's value")


def _listed(pairs: list[tuple[str, str]]) -> dict[str, object]:
    if len(pairs) > MAX_FIELDS:
        raise Refusal(400, f"A submission has at most {MAX_FIELDS} fields.")
    return dict(pairs)


def _multipart_fields(content_type: str, body: bytes, charset: str) -> dict[str, object]:
    """multipart/form-data through the standard library's MIME parser: each part's own
    charset, else the request's; a file is refused (a lead is text)."""
    head = f"Content-Type: {content_type}\r\n\r\n".encode("latin-1", "replace")
    message = BytesParser(policy=policy.HTTP).parsebytes(head + body)
    if not message.is_multipart():
        raise Refusal(400, "The multipart body could not be read.")
    fields: dict[str, object] = {}
    for part in message.iter_parts():
        if part.get_filename() is not None:
            raise Refusal(422, "Files are not taken: send the lead's fields as text.")
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if isinstance(name, str) and isinstance(payload, bytes):
            fields[name] = payload.decode(part.get_content_charset() or charset)
        if len(fields) > MAX_FIELDS:
            break
    return fields
