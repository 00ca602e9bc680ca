"""The log context of Celery jobs: the enqueuing request's id, the task's id and name.

The request id travels in a message header set at publish time (before_task_publish),
and task_prerun binds it with the task's id and name for every line of the job.
"""

from typing import Any

import structlog

REQUEST_ID_HEADER = "request_id"


def connect_celery_logging() -> None:
    """Carry the request id into the jobs a request enqueues, and keep our LOGGING.

    Call it once where the Celery app is created (config/celery.py): a task's log lines
    then carry the request_id of the request that enqueued it, plus task_id and
    task_name, whether the task runs in a worker or eagerly in the request.
    """
    from celery import signals

    signals.before_task_publish.connect(_add_request_id_header, weak=False)
    signals.task_prerun.connect(_bind_task_context, weak=False)
    signals.task_postrun.connect(_unbind_task_context, weak=False)
    # Without this, a worker replaces the root logger's handlers with its own format.
    signals.setup_logging.connect(_keep_django_logging, weak=False)


def _add_request_id_header(
    headers: dict[str, Any] | None = None, **kwargs: Any
) -> None:
    request_id = structlog.contextvars.get_contextvars().get("request_id")
    if headers is not None and request_id:
        headers[REQUEST_ID_HEADER] = request_id


def _bind_task_context(task: Any = None, task_id: str = "", **kwargs: Any) -> None:
    if task is None:
        return
    context: dict[str, Any] = {"task_id": task_id, "task_name": task.name}
    # A worker merges the message's headers into task.request; apply(headers=...)
    # (an eager run, or a test replaying a message) keeps them in request.headers.
    request_id = getattr(task.request, REQUEST_ID_HEADER, None) or (
        task.request.headers or {}
    ).get(REQUEST_ID_HEADER)
    if request_id:
        context["request_id"] = request_id
    # Tokens restore the previous context afterwards: an eager task runs inside the
    # request that enqueued it, whose later lines must not carry the task's id.
    task.request.log_context_tokens = structlog.contextvars.bind_contextvars(**context)


def _unbind_task_context(task: Any = None, **kwargs: Any) -> None:
    tokens = getattr(getattr(task, "request", None), "log_context_tokens", None)
    if tokens:
        structlog.contextvars.reset_contextvars(**tokens)


def _keep_django_logging(**kwargs: Any) -> None:
    """Leave logging as Django's LOGGING set it up (connected to setup_logging)."""
