"""A console mailer that never writes a message's body: reset links stay out of logs.

Django's console backend prints every message whole, so a password-reset email puts
a working link into the log, where anyone who reads logs could take over the
account. This one logs one line per message (its subject and how many recipients),
never the body and never an address. To read the mails themselves in development,
send them to files (`EMAIL_URL=filemail:///tmp/mail`) or to Mailpit (docker-compose).
"""

import logging
from collections.abc import Sequence

from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend

logger = logging.getLogger(__name__)


class ConsoleEmailBackend(BaseEmailBackend):
    """Log that each message was sent; its body and addresses are withheld."""

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        """Log one line per message; return how many were "sent"."""
        for message in email_messages:
            logger.info(
                "email not delivered (console mailer), body withheld: %r to %d "
                "recipient(s)",
                message.subject,
                len(message.recipients()),
            )
        return len(email_messages)
