"""The black-box contract suite: docs/api.md and the contract, over HTTP only."""
