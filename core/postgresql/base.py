"""PostgreSQL, with a health check of persistent connections that costs no round trip.

With CONN_HEALTH_CHECKS, Django checks a persistent connection before the first query
of each request, so that a connection the server has ended (a restart, a failover,
pg_terminate_backend, an idle timeout) is replaced instead of failing that request.
Its check is `SELECT 1`: one more round trip on every request that touches the
database (measured here: 26 us of the service's CPU, 16 us of the server's, 44 us
of wall time on an idle machine; docs/performance.md).

Between two requests a healthy connection has nothing to read: the server writes only
in answer to a query, or a notification this service never listens for. A server that
ends a session sends its FATAL error and closes the socket, so the socket turns
readable. This check asks the kernel instead of the server: psycopg's own state, then
one non-blocking poll of the socket. A peer that vanished without closing (a
partition) is found by neither check before the query: keepalives, tcp_user_timeout
and core/dbwatchdog.py end that one, as before.
"""

import select

import psycopg
from django.db.backends.postgresql import base
from psycopg import pq

# A connection between two requests is idle, or inside a transaction a caller left
# open (SELECT 1 would pass it too); any other state cannot take the next query.
_READY = (pq.TransactionStatus.IDLE, pq.TransactionStatus.INTRANS)
_EVENTS = select.POLLIN | select.POLLPRI | select.POLLERR | select.POLLHUP


class DatabaseWrapper(base.DatabaseWrapper):
    """Django's PostgreSQL backend; only the health check differs."""

    def is_usable(self) -> bool:
        """Say whether the open connection can take a query, asking the kernel only."""
        conn = self.connection
        if conn is None or conn.closed or conn.broken:
            return False
        pgconn = conn.pgconn
        if pgconn.status != pq.ConnStatus.OK or pgconn.transaction_status not in _READY:
            return False
        poll = select.poll()
        try:
            poll.register(pgconn.socket, _EVENTS)
        except (OSError, ValueError, psycopg.Error):  # the socket is gone
            return False
        # Anything to read (an error, EOF) or a hang-up: the server has ended it.
        return not poll.poll(0)
