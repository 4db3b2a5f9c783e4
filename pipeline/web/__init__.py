"""The web face: a Django application over the same core the command line calls (`yuetan serve`).

Views parse the request, check the account's role, call the core and render its result; the rules of who may do
what live in the core. Django is configured from the archive's own `yuetan.toml` by `pipeline.web.config`, and
only there.
"""
