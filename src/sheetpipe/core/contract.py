"""The sheet contract (DESIGN.md, v1): tab and column names, and who owns what."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

PIPELINE_REQUIRED = ("Deal", "Stage")
PEOPLE_COLUMNS = (
    "Deal", "Stage", "Owner", "Email", "Company", "Value",
    "Expected close", "Last contact", "Lost reason", "Competitor",
)  # fmt: skip
OWNED_COLUMNS = ("ID", "Score", "Lead status", "Health", "Why", "In stage since", "Days in stage")
WEIGHTS_COLUMNS = ("Field", "Rule", "Value", "Points", "Max points", "Notes")
STAGES_COLUMNS = (
    "Pipeline", "Stage", "Order", "Min score", "Max days", "Win probability",
    "Playbook", "Auto advance", "Closed", "Exit when", "Next pipeline",
)  # fmt: skip
SETTINGS_COLUMNS = ("Setting", "Value", "Notes")
TEAM_COLUMNS = (
    "Name", "Email", "Pipelines", "Active", "Out from", "Out until", "Weight", "Capacity",
)  # fmt: skip
# Value and Expected close: the deal's as of the row (the weekly review's waterfall); By
# last, where its longer words may run on into empty cells.
HISTORY_COLUMNS = ("When", "Deal ID", "Deal", "Pipeline", "From stage", "To stage", "Value",
                   "Expected close", "By")  # fmt: skip
TASKS_COLUMNS = ("Task", "Deal", "Due", "Owner", "Done", "Kind", "Created", "Deal ID", "Task ID")
STATUS_COLUMNS = ("Item", "Value", "Detail")
# Every e-mail sheetpipe sends (core/tabs/outbox.py); Body is what went, for a person to read.
OUTBOX_COLUMNS = ("ID", "To", "Subject", "Kind", "Status", "Message-ID", "Queued", "Sent", "Body")
# Nurture (core/tabs/nurture.py): each deal's enrolment in a sequence, and the addresses
# never mailed again (people may add rows to Suppression too).
ENROLMENTS_COLUMNS = ("ID", "Deal ID", "Deal", "Email", "Sequence", "Step", "Status",
                      "Next send", "Exit reason", "Enrolled", "Last sent")  # fmt: skip
SUPPRESSION_COLUMNS = ("Email", "Reason", "When", "Source")
# Messages read over IMAP ([imap], sheetpipe/mail/imap.py), each acted on once (Acted).
REPLIES_COLUMNS = ("Received", "From", "Subject", "Kind", "First lines", "Message-ID",
                   "Refers to", "Bounced", "Mailbox", "UID", "Acted")  # fmt: skip
HEALTH_VALUES = ("Hot", "OK", "At risk", "Stalled", "Dead", "Won", "Lost")
LEAD_STATUSES = ("Cold", "MQL", "SQL", "Nurture")
DAEMON = "sheetpipe"

FROM_DEAL = "From deal"  # on a post-sale row: the won deal it came from (core/deals/transfer.py)
# Intake tabs: the two columns sheetpipe owns on them (see core/deals/intake.py).
INTAKE_STATUS = "Intake status"
INTAKE_KEY = "Intake key"
# Each field of a lead, and the headers forms usually give it (matched by norm); the
# first one a tab has is used, unless sheetpipe.toml [intake.columns] names another.
LEAD_HEADERS = {
    "Name": ("Name", "Full name", "Your name", "Contact", "Contact name", "First name"),
    "Email": ("Email", "E-mail", "Email address", "E-mail address", "Your email", "Mail"),
    "Company": ("Company", "Company name", "Organisation", "Organization", "Business"),
    "Phone": ("Phone", "Phone number", "Telephone", "Mobile", "Tel"),
    "Message": ("Message", "Comments", "Comment", "How can we help?", "Notes", "Details"),
    "Source": ("Source", "Lead source", "Utm source", "Utm_source"),
    "Submitted": ("Timestamp", "Submitted", "Submitted at", "Date"),
}
# Where each lead field goes on the deal (a column the pipeline lacks is added).
ON_DEAL = {
    "Name": "Contact",
    "Email": "Email",
    "Company": "Company",
    "Phone": "Phone",
    "Message": "Notes",
    "Source": "Source",
}


@dataclass(frozen=True)
class IntakeTab:
    """A tab whose rows are leads to take in (sheetpipe.toml [[intake]])."""

    tab: str
    pipeline: str  # where new deals go
    columns: Mapping[str, str] = field(default_factory=dict)  # lead field → intake header


@dataclass(frozen=True)
class Names:
    """Tab names and column renames from sheetpipe.toml; defaults are the contract's."""

    pipelines: tuple[str, ...] = ("Deals", "Customers")
    weights: str = "Weights"
    stages: str = "Stages"
    settings: str = "Settings"
    team: str = "Team"
    tasks: str = "Tasks"
    history: str = "History"
    status: str = "Status"
    lists: str = "Lists"
    today: str = "Today"
    review: str = "Review"
    outbox: str = "Outbox"
    sequences: str = "Sequences"
    sequence_steps: str = "Sequence steps"
    enrolments: str = "Enrolments"
    suppression: str = "Suppression"
    replies: str = "Replies"
    columns: Mapping[str, str] = field(default_factory=dict)  # contract name → name in sheet
    intakes: tuple[IntakeTab, ...] = ()
    mail: bool = False  # sheetpipe.toml has [smtp]: alerts are queued in Outbox and sent

    def col(self, contract_name: str) -> str:
        return self.columns.get(contract_name, contract_name)

    def all_tabs(self) -> tuple[str, ...]:
        """Every tab a cycle reads, pipelines first."""
        own = (self.weights, self.stages, self.settings, self.team, self.tasks,
               self.history, self.status, self.lists, self.today, self.review)  # fmt: skip
        own += (self.outbox, self.sequences, self.sequence_steps, self.enrolments,
                self.suppression, self.replies) if self.mail else ()  # fmt: skip
        intakes = (i.tab for i in self.intakes)
        return tuple(dict.fromkeys((*self.pipelines, *own, *intakes)))

    def owned_tabs(self) -> dict[str, tuple[str, ...]]:
        """Tabs the daemon creates when missing, with their headers.

        Column renames in config are for the pipeline tabs people built; the daemon's own
        tabs always use the contract's column names.
        """
        owned = {
            self.tasks: TASKS_COLUMNS,
            self.history: HISTORY_COLUMNS,
            self.status: STATUS_COLUMNS,
        }
        if self.mail:
            owned[self.outbox] = OUTBOX_COLUMNS
            owned[self.enrolments] = ENROLMENTS_COLUMNS
            owned[self.suppression] = SUPPRESSION_COLUMNS
        return owned
