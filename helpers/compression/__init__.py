"""Smaller: architecture, pruning, quantization and distillation for the edge (notebooks 04–08)."""
