"""Faster, part 1: cuDF for pandas and cuML for scikit-learn (notebooks 01–02)."""
