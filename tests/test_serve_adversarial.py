"""`sheetpipe serve` against careless and hostile senders (issue 21, findings 4, 5, 13, 14
and 16, and the inputs that come next): a real uvicorn server on loopback, run as
`sheetpipe serve` runs it, raw HTTP, the SQLite journal on disk; the settings through
sheetpipe.toml and the `sheetpipe serve` command itself where they come from there."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import os
import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from sheetpipe.config import load_config
from sheetpipe.errors import ConfigError
from sheetpipe.web.journal import Journal
from sheetpipe.web.serve import FormRules, RateLimit, form_token

from .helpers import free_port, serving, write_config

SECRET = b"s3cret-for-the-webhook-0123456789"
INTAKE = '[[intake]]\ntab = "Web leads"\n'


@pytest.fixture
def server(serve):
    """conftest's `serve`: the app on uvicorn as `sheetpipe serve` runs it."""
    return serve


def token_of(page: str) -> str:
    return re.search(r'name="_token" value="([^"]+)"', page).group(1)


def send(base: str, body: bytes, content_type: str, path: str = "/api/leads", **headers):
    return requests.post(f"{base}{path}", data=body, timeout=10,
                         headers={"Content-Type": content_type, **headers})  # fmt: skip


def post_from(base: str, source: str, forwarded_for: str) -> int:
    """A webhook post from the loopback address `source` (a proxy on another host, as far
    as the server can tell), forwarding `forwarded_for`; returns the status."""
    port = int(base.rsplit(":", 1)[1])
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10,
                                            source_address=(source, 0))  # fmt: skip
    try:
        connection.request("POST", "/api/leads", body=b"{}", headers={
            "Content-Type": "application/json", "X-Forwarded-For": forwarded_for})  # fmt: skip
        return connection.getresponse().status
    finally:
        connection.close()


# ---- 4: a body made to crash the parser --------------------------------------------------


def test_thousands_of_nested_brackets_are_refused_not_a_crash(server):
    base, journal = server()
    for nested in ("[" * 8000, '{"a":' * 3000):  # under the 16 KB limit, both
        answer = send(base, nested.encode(), "application/json")
        assert answer.status_code == 400, answer.text
        assert "nested too deeply" in answer.json()["error"]
    assert send(base, b'{"Email": "a@b.example"}', "application/json").status_code == 201
    assert len(journal.waiting()) == 1, "the server goes on"


@pytest.mark.parametrize("body", ['"a@b.example"', "null", "42", '[{"Email": "a@b.example"}]'])
def test_json_that_is_not_an_object_of_fields_is_refused_with_what_to_send(server, body):
    base, journal = server()
    answer = send(base, body.encode(), "application/json")
    assert answer.status_code == 400 and "object of fields" in answer.json()["error"]
    assert journal.waiting() == []


def test_a_list_object_or_constant_where_a_field_goes_is_refused(server):
    base, journal = server()
    for body in ('{"Email": {"$ne": ""}}', '{"Email": "a@b.example", "Name": ["A", "B"]}',
                 '{"Email": "a@b.example", "Phone": true}'):  # fmt: skip
        answer = send(base, body.encode(), "application/json")
        assert answer.status_code == 422 and "must be text or a number" in answer.text
    nan = send(base, b'{"Email": "a@b.example", "Phone": NaN}', "application/json")
    assert nan.status_code == 400 and "not valid JSON" in nan.json()["error"]
    assert journal.waiting() == []


def test_a_services_own_nested_metadata_beside_the_fields_is_no_reason_to_lose_the_lead(server):
    base, journal = server()
    body = {"Email": "a@b.example", "Phone": 442079460000, "meta": {"utm": ["x", {"y": 1}]}}
    assert requests.post(f"{base}/api/leads", json=body, timeout=10).status_code == 201
    [kept] = journal.waiting()
    assert kept.fields == {"Email": "a@b.example", "Phone": "442079460000", "Source": "webhook"}


# ---- 5: the honeypot belongs to sheetpipe's own form ---------------------------------------


def test_a_sites_own_form_posting_a_website_field_reaches_the_journal(server):
    base, journal = server()
    as_json = {"Name": "Cara", "Email": "cara@beta.example", "website": "https://beta.example"}
    assert requests.post(f"{base}/api/leads", json=as_json, timeout=10).status_code == 201
    as_form = {"Email": "dan@gamma.example", "website": "https://gamma.example"}
    assert requests.post(f"{base}/api/leads", data=as_form, timeout=10).status_code == 201
    assert [w.fields["Email"] for w in journal.waiting()] == [
        "cara@beta.example", "dan@gamma.example"]  # fmt: skip


def test_the_webhook_never_checks_the_forms_hidden_field(server):
    base, journal = server()
    body = {"Email": "eve@delta.example", "sp_hp_url_confirm": "anything"}
    assert requests.post(f"{base}/api/leads", json=body, timeout=10).status_code == 201
    assert len(journal.waiting()) == 1


def test_the_forms_hidden_field_has_a_name_no_real_form_uses(server):
    base, journal = server()
    page = requests.get(f"{base}/form", timeout=10).text
    assert 'name="website"' not in page and 'name="sp_hp_url_confirm"' in page
    data = {"_token": token_of(page), "Email": "a@b.example", "website": "https://b.example"}
    assert "Thank you" in requests.post(f"{base}/form", data=data, timeout=10).text
    assert len(journal.waiting()) == 1, "a visitor's own `website` is not the trap"


# ---- 13: the webhook's secret ------------------------------------------------------------


def signature(body: bytes, key: bytes = SECRET) -> str:
    return "sha256=" + hmac.new(key, body, hashlib.sha256).hexdigest()


def test_with_a_secret_a_post_without_it_or_with_a_wrong_one_is_401(server):
    base, journal = server(FormRules(min_seconds=0, per_minute=100, webhook_secret=SECRET))
    body = b'{"Email": "a@b.example"}'
    refused = [
        {},
        {"Authorization": "Bearer not-the-secret"},
        {"Authorization": "Bearer " + SECRET.decode()[:-1]},  # one character short
        {"Authorization": "Basic " + SECRET.decode()},
        {"Authorization": "Bearer sécret".encode().decode("latin-1")},  # not ASCII
        {"X-Sheetpipe-Signature": "sha256=abc"},  # a signature of the wrong length
        {"X-Sheetpipe-Signature": signature(b'{"Email": "other@b.example"}')},
        {"X-Sheetpipe-Signature": signature(body, b"another key entirely, 32 bytes")},
        {"X-Sheetpipe-Signature": signature(body).removeprefix("sha256=")},
    ]
    for headers in refused:
        answer = send(base, body, "application/json", **headers)
        assert answer.status_code == 401, headers
        assert answer.headers["WWW-Authenticate"] == "Bearer"
        assert SECRET.decode() not in answer.text
    assert journal.waiting() == []
    bearer = send(base, body, "application/json", Authorization="Bearer " + SECRET.decode())
    signed = send(base, body, "application/json", **{"X-Sheetpipe-Signature": signature(body)})
    assert (bearer.status_code, signed.status_code) == (201, 201)
    assert len(journal.waiting()) == 2


def test_with_a_secret_the_form_still_takes_visitors(server):
    base, journal = server(FormRules(min_seconds=0, webhook_secret=SECRET))
    page = requests.get(f"{base}/form", timeout=10).text
    data = {"_token": token_of(page), "Email": "a@b.example"}
    assert "Thank you" in requests.post(f"{base}/form", data=data, timeout=10).text
    assert len(journal.waiting()) == 1


def sheetpipe_serve(folder: Path, port: int, env: dict[str, str]):
    """The `sheetpipe serve` command in its own process, until the block ends."""
    return serving([sys.executable, "-m", "sheetpipe"], folder, port, {**os.environ, **env})


def test_sheetpipe_serve_takes_the_secret_from_the_environment_and_trusts_no_one_told(tmp_path):
    port = free_port()
    write_config(tmp_path, extra=INTAKE + '[serve]\njournal = "journal.sqlite"\nper_minute = 1\n'
                 'webhook_secret_env = "SP_TEST_WEBHOOK_SECRET"\ntrusted_proxies = []\n')  # fmt: skip
    with sheetpipe_serve(tmp_path, port, {}) as process:
        said = process.stdout.read()
    assert process.returncode == 2 and said.startswith("Error: ") and "Traceback" not in said
    assert "SP_TEST_WEBHOOK_SECRET" in said and "at least 16 characters" in said
    with sheetpipe_serve(tmp_path, port, {"SP_TEST_WEBHOOK_SECRET": SECRET.decode()}) as process:
        base = f"http://127.0.0.1:{port}/api/leads"
        body = {"Email": "a@b.example"}
        assert requests.post(base, json=body, timeout=10).status_code == 401
        bearer = {"Authorization": f"Bearer {SECRET.decode()}", "X-Forwarded-For": "192.0.2.1"}
        assert requests.post(base, json=body, headers=bearer, timeout=10).status_code == 429
        # ...counted as 127.0.0.1 with the 401 before it: with trusted_proxies = [], no
        # X-Forwarded-For is believed, not even from this machine.
        process.terminate()
        process.wait(30)
        assert SECRET.decode() not in process.stdout.read(), "a secret is never logged"
    assert Journal(tmp_path / "journal.sqlite").waiting() == []


def test_the_secret_comes_from_a_file_beside_the_config(tmp_path, server):
    (tmp_path / "webhook-secret").write_text(SECRET.decode() + "\n", encoding="utf-8")
    path = write_config(
        tmp_path, extra=INTAKE + '[serve]\nwebhook_secret_file = "webhook-secret"\n'
    )
    rules = FormRules.of(load_config(path).serve)
    assert rules.webhook_secret == SECRET, "its trailing newline is not part of it"
    base, _ = server(rules)
    assert send(base, b'{"Email": "a@b.example"}', "application/json").status_code == 401
    (tmp_path / "webhook-secret").write_text("short\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="too short"):
        FormRules.of(load_config(path).serve)
    (tmp_path / "webhook-secret").unlink()
    with pytest.raises(ConfigError, match="cannot be read"):
        FormRules.of(load_config(path).serve)


@pytest.mark.parametrize(
    ("section", "said"),
    [
        ('webhook_secret = "abc"', "a secret does not belong in sheetpipe.toml"),
        ('webhook_secret_env = "A"\nwebhook_secret_file = "b"', "set one of them"),
        ("webhook_secret_env = 5", "webhook_secret_env must be a name in quotes"),
        ('trusted_proxies = "10.0.0.5"', "trusted_proxies must be a list of addresses"),
        ('trusted_proxies = ["nginx"]', '"nginx" is not an IP address or network'),
        ('trusted_proxies = ["*"]', '"*" is not an IP address or network'),
    ],
)  # fmt: skip
def test_a_bad_secret_or_proxy_setting_is_reported_with_its_key(tmp_path, section, said):
    path = write_config(tmp_path, extra=INTAKE + "[serve]\n" + section + "\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert said in str(err.value)


def test_the_settings_read_as_written(tmp_path):
    extra = '[serve]\ntrusted_proxies = ["10.0.0.5", "10.1.0.0/16"]\nwebhook_secret_env = "S"\n'
    serve = load_config(write_config(tmp_path, extra=INTAKE + extra)).serve
    assert serve.trusted_proxies == ("10.0.0.5", "10.1.0.0/16")
    assert (serve.webhook_secret_env, serve.webhook_secret_file) == ("S", None)
    default = load_config(write_config(tmp_path, extra=INTAKE + "[serve]\n")).serve
    assert default.trusted_proxies == ("127.0.0.1",) and default.webhook_secret_env == ""


# ---- 13: a form is sent once, within two hours ---------------------------------------------


def test_a_form_token_is_taken_once(server):
    base, journal = server()
    token = token_of(requests.get(f"{base}/form", timeout=10).text)
    data = {"_token": token, "Name": "Cara", "Email": "cara@beta.example"}
    assert "Thank you" in requests.post(f"{base}/form", data=data, timeout=10).text
    again = requests.post(f"{base}/form", data=data, timeout=10)
    assert again.status_code == 200 and "Thank you" in again.text, "a second click on Send"
    other = requests.post(f"{base}/form", timeout=10, data={**data, "Email": "bot@x.example"})
    assert other.status_code == 400 and "This form was sent already" in other.text
    assert token_of(other.text) != token, "the form comes back with a new token"
    assert [w.fields["Email"] for w in journal.waiting()] == ["cara@beta.example"]


def test_a_used_token_stays_used_after_a_restart(tmp_path, server):
    base, journal = server(journal=Journal(tmp_path / "journal.sqlite"))
    token = token_of(requests.get(f"{base}/form", timeout=10).text)
    data = {"_token": token, "Email": "cara@beta.example"}
    assert "Thank you" in requests.post(f"{base}/form", data=data, timeout=10).text
    restarted, _ = server(journal=Journal(tmp_path / "journal.sqlite"))
    replayed = requests.post(f"{restarted}/form", timeout=10, data={**data, "Name": "Replay"})
    assert replayed.status_code == 400
    assert len(journal.waiting()) == 1


def test_one_token_sent_many_times_at_once_is_journaled_once(server):
    base, journal = server()
    token = token_of(requests.get(f"{base}/form", timeout=10).text)

    def post(n: int) -> int:
        data = {"_token": token, "Email": f"p{n % 2}@x.example"}
        return requests.post(f"{base}/form", data=data, timeout=30).status_code

    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(post, range(8)))
    assert len(journal.waiting()) == 1 and codes.count(200) >= 1


def test_two_forms_given_in_one_second_are_two_forms(server):
    base, journal = server()
    pages = [requests.get(f"{base}/form", timeout=10).text for _ in range(3)]
    tokens = [token_of(p) for p in pages]
    assert len(set(tokens)) == 3
    for n, token in enumerate(tokens):
        data = {"_token": token, "Email": f"p{n}@x.example"}
        assert "Thank you" in requests.post(f"{base}/form", data=data, timeout=10).text
    assert len(journal.waiting()) == 3


def test_a_form_opened_long_ago_is_said_to_have_expired_not_to_be_too_quick(server):
    base, journal = server(FormRules(min_seconds=3))
    secret = journal.secret()
    for hours in (25, 2.02):
        data = {"_token": form_token(secret, time.time() - hours * 3600), "Name": "Ann",
                "Email": "ann@x.example"}  # fmt: skip
        answer = requests.post(f"{base}/form", data=data, timeout=10)
        assert answer.status_code == 400
        assert "This form expired: it was opened more than 2 hours ago" in answer.text
        assert "too quickly" not in answer.text
        assert 'value="ann@x.example"' in answer.text, "what they typed is kept"
    renewed = {**data, "_token": token_of(answer.text)}
    time.sleep(3.1)
    assert "Thank you" in requests.post(f"{base}/form", data=renewed, timeout=10).text
    fresh = {**data, "_token": form_token(secret, time.time() - 1.9 * 3600)}
    assert "Thank you" in requests.post(f"{base}/form", data=fresh, timeout=10).text
    assert len(journal.waiting()) == 2


@pytest.mark.parametrize("token", ["", "1.é", "1.x.é", "²." + "0" * 64, "9" * 5000 + ".a.b", "."])
def test_a_forged_or_mangled_token_is_refused_politely(server, token):
    base, journal = server()
    answer = requests.post(f"{base}/form", data={"_token": token, "Email": "a@b.example"},
                           timeout=10)  # fmt: skip
    assert answer.status_code == 400 and "This form could not be checked" in answer.text
    assert journal.waiting() == []


# ---- 14: the rate limit's memory, and whose address it counts ------------------------------


def test_the_rate_limit_remembers_a_bounded_number_of_addresses(server):
    base, _ = server(FormRules(min_seconds=0, per_minute=1, max_addresses=3))
    first = post_from(base, "127.0.0.1", "198.51.100.1")
    assert (first, post_from(base, "127.0.0.1", "198.51.100.1")) == (422, 429)
    for n in (2, 3, 4):  # three newer visitors: the first one is forgotten
        assert post_from(base, "127.0.0.1", f"198.51.100.{n}") == 422
    assert post_from(base, "127.0.0.1", "198.51.100.1") == 422


def test_a_flood_of_addresses_keeps_the_limit_at_its_capacity():
    limit = RateLimit(per_minute=2, capacity=1000)
    for n in range(100_000):
        limit.allow(f"10.{n >> 16}.{(n >> 8) & 255}.{n & 255}", now=n / 1000)
        assert len(limit.seen) <= 1000
    quiet = RateLimit(per_minute=2, capacity=1000)
    for n in range(10):
        quiet.allow(f"a{n}", now=0)
    quiet.allow("late", now=61)
    assert list(quiet.seen) == ["late"], "addresses quiet for a minute are forgotten"


def test_x_forwarded_for_is_believed_only_from_a_trusted_proxy(server):
    base, _ = server(FormRules(min_seconds=0, per_minute=1, trusted_proxies=("127.0.0.2",)))
    # The proxy on "another host": each visitor it forwards has a limit of their own.
    assert post_from(base, "127.0.0.2", "198.51.100.1") == 422
    assert post_from(base, "127.0.0.2", "198.51.100.1") == 429
    assert post_from(base, "127.0.0.2", "198.51.100.2") == 422
    # Anyone else, this machine included now, cannot choose an address by a header.
    assert post_from(base, "127.0.0.1", "203.0.113.1") == 422
    assert post_from(base, "127.0.0.1", "203.0.113.2") == 429


def test_by_default_a_proxy_on_this_machine_is_believed(server):
    base, _ = server(FormRules(min_seconds=0, per_minute=1))
    assert post_from(base, "127.0.0.1", "198.51.100.1") == 422
    assert post_from(base, "127.0.0.1", "198.51.100.2") == 422
    assert post_from(base, "127.0.0.2", "198.51.100.3") == 422
    assert post_from(base, "127.0.0.2", "198.51.100.4") == 429, "127.0.0.2 is no proxy"


# ---- 16: phones, charsets ----------------------------------------------------------------


def fill(base: str, **fields) -> requests.Response:
    page = requests.get(f"{base}/form", timeout=10).text
    return requests.post(f"{base}/form", data={"_token": token_of(page), **fields}, timeout=10)


@pytest.mark.parametrize("phone", ["call me maybe", "n/a", "0", "---", "ring 0171 555 0123"])
def test_the_form_asks_for_a_phone_number_in_phone(server, phone):
    base, journal = server()
    answer = fill(base, Email="ann@x.example", Phone=phone)
    assert answer.status_code == 400
    assert "Write only a phone number in Phone, e.g. +44 20 7946 0000" in answer.text
    assert journal.waiting() == []


@pytest.mark.parametrize(
    "phone", ["+44 20 7946 0000", "(555) 010-9999 ext. 12", "0171 555 0123", "+1.555.010.9999"]
)
def test_real_phone_numbers_are_taken_as_they_are_written(server, phone):
    base, journal = server()
    assert fill(base, Phone=phone).status_code == 200
    assert journal.waiting()[0].fields == {"Phone": phone}


def test_the_webhook_keeps_a_lead_whose_phone_field_holds_words(server):
    base, journal = server()
    body = {"Email": "ann@x.example", "Phone": "call me maybe", "Message": "Pricing?"}
    assert requests.post(f"{base}/api/leads", json=body, timeout=10).status_code == 201
    [kept] = journal.waiting()
    assert "Phone" not in kept.fields, "Phone holds numbers sales can dial"
    assert kept.fields["Message"] == "Pricing?\n\nPhone as sent: call me maybe"
    alone = requests.post(f"{base}/api/leads", json={"Phone": "call me maybe"}, timeout=10)
    assert alone.status_code == 422
    assert "Phone holds no phone number (write it like +44 20 7946 0000)" in alone.text
    assert len(journal.waiting()) == 1


def test_latin1_form_fields_are_read_in_the_charset_they_declare(server):
    base, journal = server()
    body = b"Name=Jos%E9+M%FCller&Email=jose@x.example&Company=Caf%E9"
    kind = "application/x-www-form-urlencoded; charset=ISO-8859-1"
    assert send(base, body, kind).status_code == 201
    as_json = '{"Name": "Zoë", "Email": "zoe@x.example"}'.encode("latin-1")
    assert send(base, as_json, "application/json; charset=latin-1").status_code == 201
    assert [w.fields["Name"] for w in journal.waiting()] == ["José Müller", "Zoë"]


def test_text_not_valid_in_its_charset_is_refused_not_mangled(server):
    base, journal = server()
    latin1 = b"Name=Jos%E9&Email=jose@x.example"
    answer = send(base, latin1, "application/x-www-form-urlencoded")
    assert answer.status_code == 400 and "not valid UTF-8" in answer.json()["error"]
    raw = '{"Name": "José", "Email": "jose@x.example"}'.encode("latin-1")
    assert send(base, raw, "application/json").status_code == 400
    unknown = send(base, b"Email=a@b.example", "application/x-www-form-urlencoded; charset=klingon")
    assert unknown.status_code == 400 and "klingon" not in unknown.text
    page = requests.get(f"{base}/form", timeout=10).text
    form = f"_token={token_of(page)}&Name=Jos%E9&Email=jose@x.example".encode()
    on_form = send(base, form, "application/x-www-form-urlencoded", path="/form")
    assert on_form.status_code == 400 and "not valid UTF-8" in on_form.text
    assert journal.waiting() == []


def test_the_form_declares_the_charset_it_sends(server):
    base, _ = server()
    page = requests.get(f"{base}/form", timeout=10)
    assert 'accept-charset="utf-8"' in page.text and "charset=utf-8" in page.headers["content-type"]


def test_multipart_fields_are_read_and_a_file_is_refused(server):
    base, journal = server()
    fields = {"Name": (None, "Zoë".encode("latin-1"), "text/plain; charset=latin-1"),
              "Email": (None, b"zoe@x.example")}  # fmt: skip
    assert requests.post(f"{base}/api/leads", files=fields, timeout=10).status_code == 201
    upload = {"Email": (None, b"a@b.example"), "cv": ("cv.pdf", b"%PDF-1.4", "application/pdf")}
    answer = requests.post(f"{base}/api/leads", files=upload, timeout=10)
    assert answer.status_code == 422 and "Files are not taken" in answer.text
    assert [w.fields["Name"] for w in journal.waiting()] == ["Zoë"]


# ---- what comes next: header injection, field floods, odd content ---------------------------


def test_line_breaks_and_control_characters_never_reach_a_one_line_field(server):
    base, journal = server()
    body = {"Name": "Ann\r\nBcc: victim@x.example", "Email": "ann@x.example",
            "Company": "Acme\x00\x1b[31m Ltd\u2028", "Message": "Line one\r\nLine two\x07",
            "Source": "site\nX-Injected: 1"}  # fmt: skip
    assert requests.post(f"{base}/api/leads", json=body, timeout=10).status_code == 201
    assert journal.waiting()[0].fields == {
        "Name": "Ann Bcc: victim@x.example", "Email": "ann@x.example",
        "Company": "Acme [31m Ltd", "Message": "Line one\nLine two",
        "Source": "site X-Injected: 1"}  # fmt: skip


def test_a_flood_of_fields_is_refused(server):
    base, journal = server()
    many = {f"f{n}": "x" for n in range(60)}
    as_form = requests.post(f"{base}/api/leads", data={"Email": "a@b.example", **many}, timeout=10)
    as_json = requests.post(f"{base}/api/leads", json={"Email": "a@b.example", **many}, timeout=10)
    assert (as_form.status_code, as_json.status_code) == (400, 400)
    assert "at most 50 fields" in as_form.json()["error"]
    assert journal.waiting() == []


def test_a_body_of_another_kind_is_told_what_to_send(server):
    base, journal = server()
    for kind in ("text/plain", "application/xml", ""):
        answer = send(base, b"Email=a@b.example", kind)
        assert answer.status_code == 415 and "Send JSON" in answer.json()["error"], kind
    assert journal.waiting() == []


def test_the_answers_never_carry_what_was_sent(server):
    base, _ = server(FormRules(min_seconds=0, webhook_secret=SECRET))
    hostile = "<script>alert(1)</script>"
    body = json.dumps({"Email": hostile, "Phone": hostile, hostile: hostile}).encode()
    signed = send(base, body, "application/json", **{"X-Sheetpipe-Signature": signature(body)})
    assert signed.status_code == 422 and "<script>" not in signed.text
    wrong = send(base, body, "application/json", Authorization=f"Bearer {hostile}")
    assert wrong.status_code == 401 and "<script>" not in wrong.text


def test_each_refusal_says_in_words_what_to_send_instead(server):
    """A form service's developer reads these answers: each names the fix, word for word."""
    base, journal = server()
    said = {
        b'["a"]': (400, 'Send one JSON object of fields, e.g. {"Email": …}.'),
        b'{"Name": "Cara"}': (422, "Please give an e-mail address or a phone number."),
        b'{"Email": "cara@"}': (422, "The e-mail address is not valid."),
    }
    for body, (status, words) in said.items():
        answer = send(base, body, "application/json")
        assert (answer.status_code, answer.json()["error"]) == (status, words), body
    bad = send(base, b"--x\r\nnot a part", "multipart/form-data")  # no boundary
    assert (bad.status_code, bad.json()["error"]) == (400, "The multipart body could not be read.")
    other = send(base, b"Email: a@b.example", "text/plain")
    assert other.status_code == 415
    assert "(application/x-www-form-urlencoded or multipart/form-data)." in other.json()["error"]
    assert journal.waiting() == []
