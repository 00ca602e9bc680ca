"""Background jobs of accounts: reset emails and the clean-up of expired tokens.

Jobs that a request enqueues take its `request_id` keyword, so that their log lines
can carry the id of the request (a task_prerun handler can bind it for every line).
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
def send_password_reset_email(*, email: str, request_id: str | None = None) -> bool:
    """Email a reset link if an active account has this email; say whether it did."""
    sent = services.user_password_reset_email_send(email=email)
    # Never the address itself in a log line: whether it exists is the secret here.
    logger.info(
        "password reset email %s",
        "sent" if sent else "not sent (no active account)",
        extra={"request_id": request_id},
    )
    return sent


@shared_task
def flush_expired_tokens() -> int:
    """Delete refresh-token records past their expiry; run by Celery beat."""
    deleted = services.token_flush_expired()
    logger.info("deleted %d expired refresh-token records", deleted)
    return deleted


def password_reset_email_enqueue(*, email: str, request_id: str | None = None) -> None:
    """Queue the reset email; the job, not the request, checks whether the email exists.

    Every request enqueues the same job, so the answer, its time and its failure
    (a broker outage is a 503 for everyone) never tell whether an email is registered.
    Here rather than in services.py, which the jobs import.
    """
    try:
        send_password_reset_email.delay(email=email, request_id=request_id)
    except KombuOperationalError:
        logger.error("job broker unreachable: password reset email not queued")
        raise ServiceUnavailable() from None
