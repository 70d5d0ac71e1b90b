"""The workflow templates compiled ahead of time (``scripts/gen-templates`` writes them).

Compiling the Jinja templates costs more than rendering them; a module here
is used only while the template's source and the Jinja version are those it
was compiled from (see :func:`mlgitops.render.workflows.templates._environment`),
so a stale module costs time, never correctness.
"""
