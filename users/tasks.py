"""Background jobs of accounts: reset emails and the clean-up of expired tokens.

The log lines of a job that a request enqueues carry that request's id: it travels in
a message header, not an argument (core/celery_context.py).
"""

import logging
from smtplib import SMTPException

from celery import shared_task
from kombu.exceptions import OperationalError as KombuOperationalError

from core.errors import ServiceUnavailable
from users import services

logger = logging.getLogger(__name__)


@shared_task(
    autoretry_for=(SMTPException, OSError),
    retry_backoff=True,
    retry_backoff_max=600,
    max_retries=5,
)
def send_password_reset_email(*, email: str, **queued_earlier: object) -> bool:
    """Email a reset link if an active account has this email; say whether it did."""
    # Jobs queued (or retrying) from before the upgrade still pass request_id=...:
    # accepted and ignored, so that they are sent. Remove after the next release.
    sent = services.user_password_reset_email_send(email=email)
    # Never the address itself in a log line: whether it exists is the secret here.
    logger.info(
        "password reset email %s",
        "sent" if sent else "not sent (no active account)",
    )
    return sent


@shared_task
def flush_expired_tokens() -> int:
    """Delete refresh-token records past their expiry; run by Celery beat."""
    deleted = services.token_flush_expired()
    logger.info("deleted %d expired refresh-token records", deleted)
    return deleted


def password_reset_email_enqueue(*, email: str) -> None:
    """Queue the reset email; the job, not the request, checks whether the email exists.

    Every request enqueues the same job, so the answer, its time and its failure
    (a broker outage is a 503 for everyone) never tell whether an email is registered.
    Here rather than in services.py, which the jobs import.
    """
    try:
        send_password_reset_email.delay(email=email)
    except KombuOperationalError:
        logger.error("job broker unreachable: password reset email not queued")
        raise ServiceUnavailable() from None
