"""Collection tooling: run every notebook, write the report, stamp badges; no notebook imports it."""
