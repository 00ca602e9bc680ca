"""Shared HTTP plumbing that every app uses: errors, middleware, fields, throttles."""
