"""E-mail alerts: the templates (templates.py), the SMTP server (smtp.py), and delivering
the Outbox (delivery.py), with the fates the sheet could not take kept aside (fates.py).

The core decides which alerts a cycle wants and queues them in Outbox
(core/tabs/outbox.py); this package fills in their templates and carries queued rows to
the mail server.
"""

from sheetpipe.mail.delivery import Delivery, Mailer, open_mailer
from sheetpipe.mail.smtp import MailError, check_smtp
from sheetpipe.mail.templates import Templates

__all__ = ["Delivery", "MailError", "Mailer", "Templates", "check_smtp", "open_mailer"]
