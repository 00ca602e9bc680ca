"""Business rules: each service works on the request's session and commits."""
