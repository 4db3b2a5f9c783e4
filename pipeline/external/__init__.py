"""Wrappers around external programs: each owns its command line, time-out and error translation."""
