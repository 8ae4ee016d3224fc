"""Kubernetes NetworkPolicy: model, parsing, selectors, per-flow evaluation, group tables and lint."""
