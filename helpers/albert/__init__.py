"""Lighter: ALBERT's factorized embeddings, cross-layer sharing and sentence-order prediction (09–10)."""
