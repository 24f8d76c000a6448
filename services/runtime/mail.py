"""One way to hand an e-mail to the site's SMTP server (``[alarms.email]``): STARTTLS and login
where configured. The recorder's alarm e-mails and the kiosk's receipts both go through here."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage

from services.settings import EmailSettings
from services.settings.paths import read_secret


def deliver(settings: EmailSettings, message: EmailMessage) -> None:
    """Send ``message`` (its own From/To) by SMTP; raises OSError/SMTPException on failure."""
    password = read_secret(settings.password_file, "alarms.email.password_file")
    with smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout_s) as smtp:
        if settings.starttls:
            smtp.starttls(context=ssl.create_default_context())
        if settings.username is not None:
            smtp.login(settings.username, password or "")
        smtp.send_message(message)


def send_text(settings: EmailSettings, to: str, subject: str, body: str) -> None:
    """A plain-text e-mail from the site's sender (``[alarms.email] from``) to ``to``."""
    message = EmailMessage()
    message["Subject"], message["From"], message["To"] = subject, settings.sender, to
    message.set_content(body)
    deliver(settings, message)
