"""The alert e-mails' templates: Jinja2, sandboxed (a template cannot reach Python)
and strict (a field it names that the deal lacks stops that e-mail with a problem,
rather than mailing a half-filled one). A team's own folder ([smtp] templates) comes
before the defaults in sheetpipe's `templates/mail`. Each template's first line is
`Subject: …`."""

from __future__ import annotations

import re
from pathlib import Path

import jinja2
from jinja2.sandbox import SandboxedEnvironment

from sheetpipe.core.inputs.team import Member
from sheetpipe.core.tabs.outbox import Alert, Letter, MailProblem
from sheetpipe.layout import templates


class Templates:
    """Fills in the alert templates (the Composer the core queues e-mails with)."""

    def __init__(self, own: Path | None, sheet: str, link=lambda tab, row: ""):  # noqa: ANN001
        loaders: list[jinja2.BaseLoader] = [jinja2.FunctionLoader(_default_template)]
        if own is not None:
            loaders.insert(0, jinja2.FileSystemLoader(own))
        self.env = SandboxedEnvironment(
            loader=jinja2.ChoiceLoader(loaders),
            undefined=jinja2.StrictUndefined,
            autoescape=False,  # plain text; no cell reaches a page
            keep_trailing_newline=True,
        )
        self.sheet, self.link = sheet, link

    def compose(self, alert: Alert, to: Member) -> Letter:
        name = f"{alert.kind}.txt"
        tab, row = alert.where
        fields = {
            "deal": alert.deal,
            "owner": {"name": to.name, "email": to.email},
            "kind": alert.kind,
            "detail": alert.detail,
            "where": f"{tab} row {row}",
            "link": self.link(tab, row),
            "sheet": self.sheet,
        }
        try:
            subject, body = self._parts(name)
            return _letter(subject.render(fields), body.render(fields), name)
        except jinja2.TemplateNotFound:
            raise MailProblem(f"no template {name}") from None
        except jinja2.UndefinedError as err:
            raise MailProblem(f"{name}: {err.message} (the deal lacks that field)") from None
        except jinja2.TemplateError as err:  # the sandbox refused something
            raise MailProblem(f"{name}: {err}") from None

    def merge(self, subject: str, body: str, fields: dict[str, object]) -> Letter:
        """A nurture step's e-mail from its Subject and Body cells, filled in as strictly
        as an alert's: a field the deal leaves empty stops it, never a half-filled e-mail."""
        try:
            letter = _letter(self.env.from_string(subject).render(fields),
                             self.env.from_string(body).render(fields), "the step")  # fmt: skip
        except jinja2.UndefinedError as err:
            raise MailProblem(f"{err.message} (the deal lacks that field)") from None
        except jinja2.TemplateError as err:  # a syntax error, or the sandbox refused
            raise MailProblem(str(err)) from None
        empty = _empty_fields(subject + body, fields)
        if empty:
            raise MailProblem("; ".join(empty))
        return letter

    def _parts(self, name: str) -> tuple[jinja2.Template, jinja2.Template]:
        """The subject line and the body as two templates, so that a line break in a
        deal's cell can only ever reach the body."""
        source, _, _ = self.env.loader.get_source(self.env, name)  # type: ignore[union-attr]
        found = SUBJECT_LINE.search(source)
        if found is None:
            raise MailProblem(f"{name}: it needs a line Subject: … before the body")
        subject_line = source.count("\n", 0, found.start()) + 1
        return (
            self._compile(found.group(1), name, subject_line),
            self._compile(source[found.end() :].removeprefix("\n"), name, subject_line + 1),
        )

    def _compile(self, text: str, name: str, first_line: int) -> jinja2.Template:
        """`text`, which starts at `first_line` of the file `name`: an error names the
        file's line, where the person who wrote it will look."""
        try:
            return self.env.from_string(text)
        except jinja2.TemplateSyntaxError as err:
            line = (err.lineno or 1) + first_line - 1
            raise MailProblem(f"{name} line {line}: {err.message}") from None


_FIELD = re.compile(r"\b(deal|settings)(?:\.(\w+)|\[\s*['\"]([^'\"]+)['\"]\s*\])")


def _empty_fields(source: str, fields: dict[str, object]) -> list[str]:
    """The deal's fields and the settings a template names that are empty, each said
    where to fill it in: a merge field that renders as nothing is as bad as a missing one
    in an e-mail to a prospect."""
    empty = []
    for group, attr, key in _FIELD.findall(source):
        values, name = fields.get(group, {}), attr or key
        if isinstance(values, dict) and name in values and not str(values[name]).strip():
            empty.append(f"{name} is empty in Settings" if group == "settings"
                         else f"{name} is empty on this deal")  # fmt: skip
    return list(dict.fromkeys(empty))


SUBJECT_LINE = re.compile(r"^Subject:(.*)$", re.M | re.I)


def _default_template(name: str) -> str | None:
    found = templates().joinpath("mail").joinpath(name)
    return found.read_text(encoding="utf-8") if found.is_file() else None


def _letter(subject: str, body: str, name: str) -> Letter:
    subject = " ".join(subject.split())  # one line: a cell's line break is no header break
    if not subject:
        raise MailProblem(f"{name}: the subject is empty")
    return Letter(subject, body.strip("\n") + "\n")


# ---- the SMTP server --------------------------------------------------------------------
